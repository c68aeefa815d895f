"""The published site: both books and the landing page, checked as files and in a real browser.

The site is built from the session's smoke run (as the teaching-world book) and, when ../shared/data
holds the real tables, the small archive run (as the book on the real Sun); `FLARELIB_SITE=<folder>`
checks an already built site instead (the publishing workflow does, on `_build/site`). The browser
test opens every page in headless Chromium (Debian's `chromium`, which `make test` installs where it
can) through Playwright, served over loopback, and asserts: no console error, no request outside the
site, every image loaded, no unrendered math, and the page rules of `tests/page_rules.py` (code that
fits, images shown at least at half their size, no log line, no machine path, every exercise solved,
axe-core's accessibility check); it saves a screenshot of each page beside the site, in
`<site>-screenshots/` (`_build/site-screenshots/` for `make site`), with `problems.json`, so they are
not published.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from flarelib.compendium.site import ADD_ARCHIVE, build_site
from flarelib.sources.window_tables import TABLES_DIR
from tests import page_rules
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.e2e
CHROMIUM, CHROMIUM_FLAGS = page_rules.CHROMIUM, page_rules.CHROMIUM_FLAGS
REPOSITORY = "https://github.com/example/flare-compendium"
CHAPTERS = ["01_data", "02_fusion", "03_sampling", "04_lstm", "05_cnn", "06_stacking", "07_significance",
            "08_attribution", "09_operational"]


@pytest.fixture(scope="module")
def site(request, tmp_path_factory) -> Path:
    if os.environ.get("FLARELIB_SITE"):
        return Path(os.environ["FLARELIB_SITE"])
    books = {}
    if (SHARED_DATA / TABLES_DIR).exists():
        books["archive"] = request.getfixturevalue("archive_small_run")[0]
    books["demo"] = request.getfixturevalue("smoke_run")[0]
    out = tmp_path_factory.mktemp("site") / "site"
    build_site(books, out, repository_url=REPOSITORY, missing_note=None if "archive" in books else ADD_ARCHIVE,
               log=lambda _: None)
    return out


def books(site: Path) -> list[str]:
    return [name for name in ("archive", "demo") if (site / name / "index.html").exists()]


def test_the_landing_page_names_each_book_its_data_and_its_numbers(site):
    landing = (site / "index.html").read_text()
    assert 'href="demo/index.html"' in landing and "The teaching world" in landing
    assert "Event rate of the kept windows" in landing and "LSTM test TSS over" in landing
    if "archive" in books(site):
        assert 'href="archive/index.html"' in landing and "The study on the real Sun" in landing
    else:
        assert "flarelib data fetch windows goes" in landing


def test_every_chapter_links_to_its_twin_and_an_empty_archive_chapter_to_the_teaching_world(site):
    if books(site) != ["archive", "demo"]:
        pytest.skip("the site holds one book: no twins")
    for chapter in CHAPTERS:
        demo = (site / "demo" / "notebooks" / f"{chapter}.html").read_text()
        archive = (site / "archive" / "notebooks" / f"{chapter}.html").read_text()
        assert f'href="../../archive/notebooks/{chapter}.html"' in demo and "this chapter on the real Sun" in demo
        assert f'href="../../demo/notebooks/{chapter}.html"' in archive
    cnn = (site / "archive" / "notebooks" / "05_cnn.html").read_text()
    assert "needs magnetograms" in cnn and "this chapter on the teaching world" in cnn
    for chapter in CHAPTERS:
        assert (site / "demo" / "notebooks" / f"{chapter}.html").exists()


def test_pages_have_launch_buttons_for_the_repository(site):
    page = (site / books(site)[0] / "notebooks" / "04_lstm.html").read_text()
    if "mybinder.org" not in page:
        pytest.skip("this site was built without a repository address")
    assert re.search(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/main\?urlpath=", page)


@pytest.fixture(scope="module")
def served(site):
    with page_rules.served(site) as url:
        yield url


UNRENDERED_MATH = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: n =>
    n.parentElement.closest('pre, code, script, style, .highlight, mjx-container, .MathJax')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const found = [];
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent;
    if (/\\\\\\(|\\\\\\[|\\$\\$|\\\\frac|\\\\begin\\{/.test(text)) found.push(text.trim().slice(0, 80));
  }
  return found;
}"""
BROKEN_IMAGES = "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
MATH_DONE = "async () => { if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise; }"


def test_every_page_opens_cleanly_and_keeps_the_page_rules_in_a_real_browser(site, served):
    """Every page: no console error, no request outside the site, every image loaded, no unrendered
    math; and the page rules of `tests/page_rules.py` (no sideways code, no shrunk image, no log line,
    no machine path, every exercise solved, no serious accessibility violation)."""
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (make test installs Debian's chromium where it can: as root, with apt)")
    playwright = pytest.importorskip("playwright.sync_api")
    assert page_rules.AXE.exists(), f"{page_rules.AXE} is missing: `make install` (npm install) puts axe-core there"
    pages = page_rules.pages_of(site)
    shots = site.parent / f"{site.name}-screenshots"
    shots.mkdir(exist_ok=True)
    problems: dict[str, list[str]] = {}
    broken_rules: dict[str, dict[str, list[str]]] = {}
    paths = page_rules.path_pattern(page_rules.machine_paths(site.resolve()))
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport=page_rules.VIEWPORT)
        seen: list[str] = []
        outside: list[str] = []
        page.on("console", lambda message: seen.append(f"console: {message.text}") if message.type == "error" else None)
        page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
        page.on("requestfailed", lambda r: seen.append(f"failed: {r.url}") if r.url.startswith(served) else None)

        def route(handle):
            if handle.request.url.startswith((served, "data:", "blob:")):
                handle.continue_()
            else:
                outside.append(handle.request.url)
                handle.abort()

        page.route("**/*", route)
        for name in pages:
            seen.clear()
            outside.clear()
            redirect = page_rules.REDIRECT.search((site / name).read_text())
            if redirect:  # a book's index.html sends the reader to its first page
                page.goto(f"{served}/{name}")
                page.wait_for_url(re.compile(re.escape(redirect.group(1)) + "$"))
            else:
                page.goto(f"{served}/{name}", wait_until="load")
            page.wait_for_load_state("load")
            page.evaluate(MATH_DONE)
            found = seen + [f"outside the site: {u}" for u in outside]
            found += [f"image not loaded: {src}" for src in page.evaluate(BROKEN_IMAGES)]
            found += [f"unrendered math: {text}" for text in page.evaluate(UNRENDERED_MATH)]
            if found:
                problems[name] = found
            target = shots / (name.replace("/", "__").removesuffix(".html") + ".png")
            page.screenshot(path=str(target))
            if not redirect:
                rules = page_rules.check_page(page, name, paths)
                if rules:
                    broken_rules[name] = rules
        browser.close()
    (shots / "problems.json").write_text(json.dumps({"loading": problems, "page rules": broken_rules}, indent=1))
    assert not problems, problems
    assert len(list(shots.glob("*.png"))) == len(pages) > 10
    counts = {rule: n for rule, (n, _) in page_rules.counts(broken_rules).items() if n}
    assert not broken_rules, (counts, broken_rules)
