"""One brand definition reaches the page, the PDF and the charts: both shipped brands."""

import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from support import ROOT, reportgen

pytestmark = pytest.mark.e2e

BRANDS = {
    "default": {"path": None, "primary": "#0B5FFF", "accent": "#00A389", "background": "#FFFFFF", "font": "DejaVu-Sans", "page": "A4"},
    "nightfall": {"path": ROOT / "examples" / "brands" / "nightfall", "primary": "#F5A524", "accent": "#17C964",
                  "background": "#0F1115", "font": "DejaVu-Serif", "page": "Letter"},
}


@pytest.fixture(scope="module", params=list(BRANDS))
def built(request, tmp_path_factory):
    brand = BRANDS[request.param]
    out = tmp_path_factory.mktemp(request.param)
    args = ["build", ROOT / "specs" / "q3.yaml", "--format", "html", "--format", "pdf", "--output", out]
    if brand["path"]:
        args += ["--brand", brand["path"]]
    done = reportgen(*args)
    assert done.returncode == 0, done.stderr
    return request.param, brand, out


def rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def pdf_text_pages(pdf: Path) -> list[str]:
    return subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout.split("\f")


def test_brand_colours_become_css_variables(built):
    name, brand, out = built
    html = (out / "report.html").read_text()
    assert f"--primary: {brand['primary']};" in html and f"--background: {brand['background']};" in html
    assert f'class="theme-{"dark" if name == "nightfall" else "light"}"' in html
    if name == "nightfall":
        assert '@font-face { font-family: "DejaVu Serif"; font-weight: bold;' in html
        assert '<img class="logo" src="data:image/svg+xml;base64,' in html and 'alt="Nightfall Analytics"' in html


def test_charts_use_the_brand_colours(built):
    _, brand, out = built
    regions = Image.open(out / "assets" / "04-regions-1.png").convert("RGB")
    assert regions.getpixel((2, 2)) == rgb(brand["background"])
    pixels = [regions.getpixel((x, y)) for y in range(regions.height) for x in range(regions.width)]
    assert pixels.count(rgb(brand["primary"])) > 2000  # this quarter's bars
    assert pixels.count(rgb(brand["accent"])) > 2000  # the previous quarter's bars


def test_fonts_are_embedded_and_the_page_size_is_the_brands(built):
    _, brand, out = built
    fonts = subprocess.run(["pdffonts", out / "report.pdf"], capture_output=True, text=True, check=True).stdout
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert any(brand["font"] in row for row in rows)
    assert all(row.split()[-5] == "yes" for row in rows)  # the "emb" column
    info = subprocess.run(["pdfinfo", out / "report.pdf"], capture_output=True, text=True, check=True).stdout
    assert ("(A4)" if brand["page"] == "A4" else "(letter)") in info


def test_toc_page_numbers_match_the_pages(built):
    _, _, out = built
    pages = pdf_text_pages(out / "report.pdf")
    for number, title in enumerate(["Data quality", "The quarter at a glance", "Revenue trend", "Regions", "Products", "Sales channels", "Returns"], 1):
        page = int(re.search(rf"{re.escape(title)}\s*\.+\s*(\d+)", pages[0]).group(1))
        assert re.search(rf"^\s*{number} {re.escape(title)}\s*$", pages[page - 1], re.M), f"{title} is not on page {page}"


def test_every_chart_is_on_the_page_of_its_caption(built):
    _, _, out = built
    listing = subprocess.run(["pdfimages", "-list", out / "report.pdf"], capture_output=True, text=True, check=True).stdout
    image_pages = [int(line.split()[0]) for line in listing.splitlines()[2:] if line.split()[2] == "image"]
    pages = pdf_text_pages(out / "report.pdf")
    captions = ["Weekly net revenue (full weeks, ending Sunday)", "Net revenue by region, Q2 vs Q3", "Net revenue by category",
                "Channel mix by month", "Return rate by product (dashed: average)"]
    caption_pages = [next(i for i, text in enumerate(pages, 1) if f"\n{c}" in text or re.search(rf"^\s+{re.escape(c)}\s*$", text, re.M)) for c in captions]
    assert image_pages == caption_pages
