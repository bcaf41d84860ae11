"""The HTML report in headless Chromium: phone and desktop, offline, nothing broken."""

import shutil

import pytest

from support import ROOT, reportgen

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "output" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    built = {}
    for name, brand in {"default": None, "nightfall": ROOT / "examples" / "brands" / "nightfall"}.items():
        out = tmp_path_factory.mktemp(name)
        args = ["build", ROOT / "specs" / "q3.yaml", "--output", out] + (["--brand", brand] if brand else [])
        done = reportgen(*args)
        assert done.returncode == 0, done.stderr
        built[name] = out / "report.html"
    return built


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("brand", ["default", "nightfall"])
@pytest.mark.parametrize("size", list(SIZES))
def test_report_opens_offline_with_every_image_and_no_errors(reports, browser, brand, size):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    errors, requests = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(reports[brand].as_uri(), wait_until="load")
    assert errors == []
    assert [url for url in requests if not url.startswith("data:")] == [reports[brand].as_uri()]
    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt)")
    assert broken == []
    assert page.evaluate("[...document.images].every(i => i.alt.length > 0)")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at {width}px"
    assert page.evaluate("[...document.querySelectorAll('h1')].length") == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{brand}-{size}.png"), full_page=False)
    page.close()
