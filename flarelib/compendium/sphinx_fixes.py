"""A Sphinx extension for the book (named in `_config.yml`): repairs of what its third-party parts get wrong.

sphinx-thebe 0.3.1 adds its inline configuration script once per read of the sources, and under
Jupyter Book 1 with Sphinx 7.4 the sources are read twice: every page then declares
`const THEBE_JS_URL` twice, which is a JavaScript error on every page (the browser test found it).
`unique_scripts` keeps the first of identical scripts on a page (the copies differ only in a file name
of None against "", both meaning an inline script).

MyST-NB gives a notebook's image output the image's file name as its alt text, which a screen reader
reads out as a hash. The chapters write each figure's alt text (its caption and panel titles) into the
PNG itself (`Chapter.savefig`); `alt_from_png` puts it on the page's image.

Accessibility (axe-core, in the browser test): the theme's sidebar folds a section's pages under a
`<summary>` that holds only a decorative chevron, which a screen reader announces as nothing;
`labelled_toggles` names it. A wide table scrolls inside the page (`flarelib.css`), and a region that
scrolls must be reachable from the keyboard; docutils writes the references as a `list` whose entries
are not list items. `accessible_body` mends both in each page's body.
"""

from __future__ import annotations

import re
from pathlib import Path
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


TOGGLE = '<summary><span class="toctree-toggle"'
NAMED_TOGGLE = '<summary aria-label="Show or hide the pages of this section"><span class="toctree-toggle"'


def labelled_toggles(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    """Name the sidebar's fold buttons: wrap the theme's `generate_toctree_html` so that every
    `<summary>` it makes without text gets an `aria-label`.

    Parameters
    ----------
    app, pagename, templatename, doctree : what Sphinx's `html-page-context` event passes (unused).
    context : the page's template context; its toctree function is wrapped in place.
    """
    make = context.get("generate_toctree_html")
    if make is None or getattr(make, "flarelib_labelled", False):
        return
    from markupsafe import Markup

    def labelled(*args, **kwargs):
        html = make(*args, **kwargs)
        return Markup(str(html).replace(TOGGLE, NAMED_TOGGLE))

    labelled.flarelib_labelled = True
    context["generate_toctree_html"] = labelled


SCROLLING = re.compile(r'<table(?![^>]*tabindex)([^>]*class="dataframe[^"]*"[^>]*)>')


def accessible_body(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    """Two repairs of a page's body that axe-core asks for: pandas tables, which scroll inside the page,
    get `tabindex="0"` (scrollable-region-focusable), and the entries of docutils' citation list are
    list items (aria-required-children; doc-biblioentry is deprecated in DPUB-ARIA 1.1).

    Parameters
    ----------
    app, pagename, templatename, doctree : what Sphinx's `html-page-context` event passes (unused).
    context : the page's template context; its `body` is rewritten.
    """
    body = context.get("body")
    if not body:
        return

    body = SCROLLING.sub(r'<table tabindex="0"\1>', body)
    context["body"] = re.sub(r'(<div class="citation" id="[^"]*") role="doc-biblioentry">', r'\1 role="listitem">', body)


def png_description(path: Path) -> str | None:
    """The `Description` text chunk of a PNG file (matplotlib writes it from `savefig(metadata=...)`)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return (image.text or {}).get("Description") if image.format == "PNG" else None
    except (OSError, ValueError):
        return None


def alt_from_png(app, doctree, docname: str) -> None:
    """Give every PNG image of a page that carries a description that description as its alt text.

    Parameters
    ----------
    app : the Sphinx application (its source folder resolves the images' paths).
    doctree : the page's resolved document tree; its image nodes get `alt` in place.
    docname : the page (unused).
    """
    from docutils import nodes

    for image in doctree.findall(nodes.image):
        uri = image.get("candidates", {}).get("image/png") or image.get("uri", "")
        if not uri.endswith(".png"):
            continue
        path = Path(uri) if Path(uri).is_absolute() else Path(app.srcdir) / uri
        description = png_description(path)
        if description:
            image["alt"] = description


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", unique_scripts, priority=900)
    app.connect("html-page-context", labelled_toggles, priority=900)  # after the theme adds its toctree function
    app.connect("html-page-context", accessible_body)
    app.connect("doctree-resolved", alt_from_png)  # after the handlers that add scripts
    return {"parallel_read_safe": True, "parallel_write_safe": True}
