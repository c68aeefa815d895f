"""The page rules of the published site, checked in a real browser (headless Chromium via Playwright).

Each page of a built site is opened at a desktop width with every folded solution opened, and held to
the rules a reader of the book relies on:

- `sideways code`: a code cell or code block (chapters, exercises, book pages) wider than its box, so
  that it scrolls sideways (the library's own source pages, `_modules/`, show it at its width and are
  left out);
- `shrunk image`: an image shown at less than half its natural width;
- `log line`: a library's log line, warning or traceback in a cell output, or any stderr output;
- `machine path`: a path of the machine that built the site (its checkout, home, temporary, cache or
  Python folders) anywhere in the page's text;
- `exercise without solution`: an exercise no solution on the page refers to;
- `accessibility`: a serious or critical violation of WCAG 2 A/AA found by axe-core (the npm package in
  `node_modules/`, injected into the page).

`python -m tests.page_rules SITE` prints each rule's count over a built site (used for the closing
notes' before/after figures); `tests/test_site.py` asserts every count is zero.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RULES = ("sideways code", "shrunk image", "log line", "machine path", "exercise without solution", "accessibility")
VIEWPORT = {"width": 1280, "height": 900}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
AXE_TAGS = ["wcag2a", "wcag2aa"]
AXE_IMPACTS = ("serious", "critical")
# A library's log line (logging's default formats, dask's "distributed.nanny - WARNING - ..."), a Python
# warning as `warnings` prints it, a kernel's log line, or a traceback.
LOG_LINE = re.compile(
    r"^\s*(?:\[?\d{4}-\d\d-\d\d[ T][\d:,.]+\]?\s*)?(?:[\w.]+\s+-\s+)?(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\b\s*[-:|]"
    r"|^\s*\[[A-Za-z]+\] ?(?:DEBUG|INFO|WARNING|ERROR)\b|\b[A-Z]\w*Warning: |^\s*warnings\.warn\(|Traceback \(most recent call last\)"
    r"|\[IPKernelApp\]",
    re.M,
)

OPEN_FOLDED = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden, .dropdown .toggle-details__container').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('button.toggle-button').forEach(b => { if (b.getAttribute('aria-expanded') !== 'true') b.click(); });
}"""
MEASURE = """(sourcePage) => {
  const visible = e => e.offsetParent !== null && e.getBoundingClientRect().width > 0;
  const label = e => (e.closest('[id]') ? '#' + e.closest('[id]').id + ': ' : '') + e.textContent.trim().split('\\n')[0].slice(0, 90);
  const code = sourcePage ? [] : Array.from(document.querySelectorAll('article pre, .bd-article pre'))
    .filter(p => !p.closest('.cell_output, .output') && visible(p) && p.scrollWidth > p.clientWidth + 1)
    .map(p => `${label(p)} (${p.scrollWidth} px in ${p.clientWidth})`);
  const images = Array.from(document.querySelectorAll('article img, .bd-article img'))
    .filter(i => visible(i) && i.naturalWidth > 0 && i.getBoundingClientRect().width < 0.5 * i.naturalWidth)
    .map(i => `${i.src.split('/').pop().slice(0, 24)} shown ${Math.round(i.getBoundingClientRect().width)} of ${i.naturalWidth} px`);
  const outputs = Array.from(document.querySelectorAll('.cell_output .output')).map(o => ({
    stderr: o.classList.contains('stderr'), text: o.innerText }));
  const exercises = Array.from(document.querySelectorAll('.exercise[id]')).map(e => e.id);
  const solved = new Set(Array.from(document.querySelectorAll('.solution .admonition-title a[href^="#"]'))
    .map(a => decodeURIComponent(a.getAttribute('href').slice(1))));
  const main = document.querySelector('main') || document.body;
  return {code, images, outputs, unsolved: exercises.filter(id => !solved.has(id)), text: main.innerText};
}"""
AXE_RUN = """async ([tags, impacts]) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.filter(v => impacts.includes(v.impact)).map(v =>
    `${v.id} (${v.impact}): ${v.help}; ${v.nodes.length} element(s), e.g. ${v.nodes[0].target.join(' ')}`);
}"""


def machine_paths(*extra: Path) -> list[str]:
    """The folders of this machine that a page must not show: the checkout, the home, temporary, cache
    and Python folders (and any `extra`, such as the site's own folder)."""
    folders = {ROOT, Path.home(), Path(tempfile.gettempdir()), Path.home() / ".cache", Path(sys.prefix),
               Path(sys.base_prefix), *extra}
    return sorted({str(f) for f in folders if str(f) not in ("/", "/usr")}, key=len, reverse=True)


def path_pattern(paths: list[str]) -> re.Pattern:
    """A path counts when it stands as a path: followed by '/', the end, a quote, space or bracket."""
    return re.compile("(?:" + "|".join(re.escape(p) for p in paths) + r")(?=[/\s'\")\]]|$)")


def log_lines(outputs: list[dict]) -> list[str]:
    """The outputs that are stderr, or hold a log line or warning (the first such line of each)."""
    found = []
    for output in outputs:
        if output["stderr"]:
            found.append("stderr: " + output["text"].strip().split("\n")[0][:120])
            continue
        match = LOG_LINE.search(output["text"])
        if match:
            line = output["text"][output["text"].rfind("\n", 0, match.start()) + 1:].split("\n")[0]
            found.append(line.strip()[:120])
    return list(dict.fromkeys(found))


REDIRECT = re.compile(r'http-equiv="Refresh" content="0; url=([^"]+)"', re.I)


def pages_of(site: Path, redirects: bool = True) -> list[str]:
    """Every HTML page of a built site, as paths relative to it (not the theme's static files); without
    `redirects`, not the pages that only send the reader on (a book's index.html)."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).as_posix().startswith(".") and "/_static/" not in p.as_posix()
                  and "/_sources/" not in p.as_posix() and (redirects or not REDIRECT.search(p.read_text())))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def served(site: Path) -> Iterator[str]:
    """The site over loopback, for as long as the block runs."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def check_page(page, name: str, paths: re.Pattern, axe: bool = True) -> dict[str, list[str]]:
    """The rules' violations on one page of the site (`name`, relative to it), already loaded in a
    Playwright page."""
    page.evaluate(OPEN_FOLDED)
    page.wait_for_timeout(50)
    found = page.evaluate(MEASURE, name.startswith("_modules/") or "/_modules/" in name)
    violations = {
        "sideways code": found["code"],
        "shrunk image": found["images"],
        "log line": log_lines(found["outputs"]),
        "machine path": sorted({m.group(0) for m in paths.finditer(found["text"])}),
        "exercise without solution": found["unsolved"],
        "accessibility": [],
    }
    if axe:
        page.add_script_tag(path=str(AXE))
        violations["accessibility"] = page.evaluate(AXE_RUN, [AXE_TAGS, list(AXE_IMPACTS)])
    return {rule: items for rule, items in violations.items() if items}


def check_site(site: Path, axe: bool = True) -> dict[str, dict[str, list[str]]]:
    """Every page's violations of the rules, by page (pages without any are left out)."""
    from playwright.sync_api import sync_playwright

    paths = path_pattern(machine_paths(site.resolve()))
    problems = {}
    with served(site) as url, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((url, "data:", "blob:")) else r.abort())
        for name in pages_of(site, redirects=False):
            page.goto(f"{url}/{name}", wait_until="load")
            found = check_page(page, name, paths, axe)
            if found:
                problems[name] = found
        browser.close()
    return problems


def counts(problems: dict[str, dict[str, list[str]]]) -> dict[str, tuple[int, int]]:
    """Per rule: the violations found and the pages they are on."""
    return {rule: (sum(len(p.get(rule, [])) for p in problems.values()), sum(rule in p for p in problems.values()))
            for rule in RULES}


def main(argv: list[str]) -> None:
    site = Path(argv[0])
    problems = check_site(site)
    print(f"{len(pages_of(site, redirects=False))} pages of {site} (not counting redirects)")
    for rule, (n, pages) in counts(problems).items():
        print(f"{rule:28s} {n:5d} on {pages} pages")
    if len(argv) > 1:
        Path(argv[1]).write_text(json.dumps(problems, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
