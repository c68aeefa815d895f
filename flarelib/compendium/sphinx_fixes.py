"""A Sphinx extension for the book (named in `_config.yml`): repairs of what its third-party parts get wrong.

sphinx-thebe 0.3.1 adds its inline configuration script once per read of the sources, and under
Jupyter Book 1 with Sphinx 7.4 the sources are read twice: every page then declares
`const THEBE_JS_URL` twice, which is a JavaScript error on every page (the browser test found it).
`unique_scripts` keeps the first of identical scripts on a page (the copies differ only in a file name
of None against "", both meaning an inline script).
"""

from __future__ import annotations

from typing import Any


def unique_scripts(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    """Drop a page's repeated scripts (the same file, or the same inline body), keeping the first.

    Parameters
    ----------
    app, pagename, templatename, doctree : what Sphinx's `html-page-context` event passes (unused).
    context : the page's template context; its `script_files` are thinned in place.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        key = (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))  # None and "" alike
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: it is the builder's list, which handlers after this one extend


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", unique_scripts, priority=900)  # after the handlers that add scripts
    return {"parallel_read_safe": True, "parallel_write_safe": True}
