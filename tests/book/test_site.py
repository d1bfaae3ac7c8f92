"""The built book, opened in headless Chromium the way a reader sees it.

Run after the book is built (`make test` builds it first; or `make book`). Checks that
every page of the table of contents loads, that its images are really displayed
(decoded, non-zero size), that math is typeset, that no internal link or anchor is
broken, that no stored progress bar reads 0 %, that code cells fit the column without
a horizontal scroll bar, and saves screenshots of the intro and a chapter into
``_build/screenshots/`` for review.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"


def toc_files() -> list[str]:
    """Every document of ``_toc.yml`` (root and chapters), without extension."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            for part in entry.get("parts", []) or []:
                walk(part.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []) or []:
        walk(part.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in files]


PAGES = toc_files()


def _chromium_tool():
    """``tools/chromium.py``: how the browser is found (and installed by ``make test``)."""
    spec = importlib.util.spec_from_file_location("chromium_tool", ROOT / "tools" / "chromium.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser():
    if not (HTML / "index.html").exists():
        pytest.skip("the book is not built: run `make book` first (`make test` does)")
    tool = _chromium_tool()
    chrome, driver_path = tool.find_browser()
    if not chrome or not driver_path:
        pytest.skip(f"headless Chromium not found ({' and '.join(tool.missing())} missing): {tool.HOW_TO_ENABLE}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,1600", "--allow-file-access-from-files",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def open_page(driver, doc: str) -> None:
    path = HTML / f"{doc}.html"
    assert path.exists(), f"{doc} is in _toc.yml but {path.relative_to(ROOT)} was not built"
    driver.get(path.as_uri())
    # Wait until the page, its images and MathJax (if any) are done.
    driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const imgs = Array.from(document.images).map(i => i.decode().catch(() => null));
        Promise.all(imgs).then(() => {
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            MathJax.startup.promise.then(() => done(true), () => done(false));
          } else { done(true); }
        });
        """
    )


@pytest.mark.parametrize("doc", PAGES)
def test_page_loads_with_its_images_and_math(browser, doc):
    open_page(browser, doc)
    title = browser.execute_script("return document.querySelector('main h1, article h1')?.textContent")
    assert title and title.strip(), f"{doc}: no heading rendered"
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('main img, article img'))"
        ".map(i => [i.getAttribute('src'), i.complete, i.naturalWidth, i.getAttribute('alt')])"
    )
    broken = [src for src, complete, width, _ in images if not complete or width == 0]
    assert not broken, f"{doc}: images that did not load: {broken}"
    if doc.startswith("notebooks/"):
        assert images, f"{doc}: a chapter shows at least one figure"
    raw_math = browser.execute_script(
        "return document.querySelectorAll('main .math:not(:has(mjx-container))').length"
    )
    assert raw_math == 0, f"{doc}: {raw_math} math blocks were not typeset by MathJax"
    # Markdown tables that the chapters build in code (Markdown(...) outputs) render as tables,
    # not as a paragraph of pipes and dashes.
    raw_tables = browser.execute_script(
        "return Array.from(document.querySelectorAll('main .cell_output p, article .cell_output p'))"
        ".filter(p => /^\\s*\\|.*\\|.*\\|/.test(p.textContent)).length"
    )
    assert raw_tables == 0, f"{doc}: {raw_tables} Markdown tables in cell outputs rendered as text"


def test_no_broken_internal_links(browser):
    problems: list[str] = []
    ids_cache: dict[Path, set[str]] = {}
    for doc in PAGES:
        open_page(browser, doc)
        page = HTML / f"{doc}.html"
        hrefs = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"
        )
        for href in hrefs:
            parsed = urlparse(href)
            if parsed.scheme in ("http", "https", "mailto", "javascript") or href.startswith("#") and len(href) == 1:
                continue
            target_s, frag = urldefrag(href)
            target = page if not target_s else (page.parent / unquote(target_s)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{doc}: link to missing {href}")
                continue
            if frag and target.suffix == ".html":
                if target not in ids_cache:
                    ids_cache[target] = set(re.findall(r'id="([^"]+)"', target.read_text(errors="ignore")))
                if unquote(frag) not in ids_cache[target]:
                    problems.append(f"{doc}: link to missing anchor {href}")
    assert not problems, "\n".join(problems)


# The stored text of a tqdm bar: "train cpu:   0%|          | 0/800 [00:00<?, ?step/s]".
ZERO_BAR = re.compile(r"(?<![\d.])0%\|")


def test_no_progress_bar_is_shown_at_0_percent(browser):
    """A bar stored at 0 % (its text at display time) says the loop never ran; the
    package's bars (unet_tutorial._progress) store their finished line."""
    problems: list[str] = []
    for doc in PAGES:
        open_page(browser, doc)
        outputs = browser.execute_script(
            "return Array.from(document.querySelectorAll('main .cell_output, article .cell_output'))"
            ".map(o => o.textContent)"
        )
        for text in outputs:
            problems += [f"{doc}: {line.strip()!r}" for line in text.splitlines() if ZERO_BAR.search(line)]
    assert not problems, "progress bars stored at 0 % (re-execute the notebook):\n" + "\n".join(problems)


def test_code_cells_fit_the_column(browser):
    """At the test's 1280-px window no code cell needs a horizontal scroll bar (the
    course's code is at most 88 characters a line; _static/custom.css makes them fit)."""
    problems: list[str] = []
    for doc in PAGES:
        open_page(browser, doc)
        wide = browser.execute_script(
            """
            document.querySelectorAll('details').forEach(d => { d.open = true; });  // hidden inputs too
            const ctx = document.createElement('canvas').getContext('2d');
            return Array.from(document.querySelectorAll('div.cell_input pre'))
              .filter(p => p.scrollWidth > p.clientWidth + 1)
              .map(p => {
                const style = getComputedStyle(p);
                ctx.font = style.font;
                const room = p.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
                const lines = p.textContent.split('\\n');
                const first = lines.find(l => ctx.measureText(l).width > room)
                  ?? lines.reduce((a, b) => (b.length > a.length ? b : a), '');
                return [p.scrollWidth, p.clientWidth, first];
              });
            """
        )
        problems += [f"{doc}: code {sw} px wide in a {cw}-px block, first line too long "
                     f"({len(line)} characters): {line.strip()[:100]!r}" for sw, cw, line in wide]
    assert not problems, "code cells that scroll sideways:\n" + "\n".join(problems)


def test_screenshots_for_review(browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    chapters = [d for d in PAGES if d.startswith("notebooks/")]
    for doc in [PAGES[0], *chapters[:1]]:
        open_page(browser, doc)
        out = SHOTS / (doc.replace("/", "_") + ".png")
        browser.save_screenshot(str(out))
        assert out.stat().st_size > 10_000, f"{out} looks empty"
