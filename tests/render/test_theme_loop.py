"""The designer's loop: export the theme, edit, render again (or watch) with no build."""

import subprocess
import sys
import time

import pytest

from support import ROOT, SPECS, reportgen, write_spec

pytestmark = pytest.mark.e2e


def test_theme_export_copies_every_file_and_refuses_to_overwrite(tmp_path):
    done = reportgen("theme", "export", tmp_path / "theme")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "theme").iterdir())
    assert names == sorted(p.name for p in (ROOT / "templates").iterdir() if p.is_file())
    assert {"cover.html.j2", "toc.html.j2", "section.html.j2", "figure.html.j2", "table.html.j2", "narrative.html.j2",
            "build-log.html.j2", "theme.css", "print.css", "brand.yaml"} <= set(names)
    again = reportgen("theme", "export", tmp_path / "theme")
    assert again.returncode == 2 and "pass --force to overwrite them" in again.stderr


def test_init_gives_a_brand_and_css_to_edit(tmp_path):
    assert reportgen("init", tmp_path).returncode == 0
    brand = tmp_path / "templates" / "brand.yaml"
    brand.write_text(brand.read_text().replace('primary: "#0B5FFF"', 'primary: "#AA0000"'))
    assert reportgen("build", "specs/example.yaml", cwd=tmp_path).returncode == 0
    assert "--primary: #AA0000;" in (tmp_path / "output" / "example" / "report.html").read_text()


def test_render_brand_and_extends_change_the_page_without_a_build(tmp_path):
    spec = write_spec(tmp_path, (SPECS / "tiny.yaml").read_text())
    out = tmp_path / "out"
    assert reportgen("build", spec, "--output", out).returncode == 0
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "report.html.j2").write_text(
        '{% extends "report.html.j2" %}\n{% block build_log %}<footer>ACME internal</footer>{% endblock %}\n'
    )
    done = reportgen("render", out)
    assert done.returncode == 2
    assert 'the templates include or extend each other in a loop. To extend the built-in template from a file of the same name, write {% extends "builtin/report.html.j2" %}.' in done.stderr
    (tmp_path / "templates" / "report.html.j2").write_text(
        '{% extends "builtin/report.html.j2" %}\n{% block build_log %}<footer>ACME internal</footer>{% endblock %}\n'
    )
    done = reportgen("render", out, "--brand", ROOT / "examples" / "brands" / "nightfall")
    assert done.returncode == 0, done.stderr
    html = (out / "report.html").read_text()
    assert "<footer>ACME internal</footer>" in html and "--background: #0F1115;" in html and 'id="build-log"' not in html


def test_landscape_sections_get_landscape_pages(tmp_path):
    text = (SPECS / "tiny.yaml").read_text().replace("    title: A chart\n", "    title: A chart\n    landscape: true\n")
    spec = write_spec(tmp_path, text)
    assert reportgen("build", spec, "--format", "pdf", "--output", tmp_path / "out").returncode == 0
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9", tmp_path / "out" / "report.pdf"], capture_output=True, text=True).stdout
    sizes = [line.split(":", 1)[1].split("pts")[0].strip() for line in info.splitlines() if line.startswith("Page") and "size" in line]
    assert sizes.count("841.89 x 595.276") == 1 and sizes.count("595.276 x 841.89") == len(sizes) - 1


def test_render_watch_renders_again_after_an_edit(tmp_path):
    spec = write_spec(tmp_path, (SPECS / "tiny.yaml").read_text())
    out = tmp_path / "out"
    assert reportgen("build", spec, "--output", out).returncode == 0
    (tmp_path / "templates").mkdir()
    css = tmp_path / "templates" / "theme.css"
    css.write_text((ROOT / "templates" / "theme.css").read_text())
    watcher = subprocess.Popen([sys.executable, "-m", "reportgen", "render", out, "--watch"], stderr=subprocess.PIPE, text=True)
    try:
        assert "Rendered" in watcher.stderr.readline()
        assert "Watching" in watcher.stderr.readline()
        time.sleep(0.5)
        css.write_text(css.read_text() + "\n.section { outline: 1px solid red; }\n")
        assert "Rendered" in watcher.stderr.readline()
        assert "outline: 1px solid red" in (out / "report.html").read_text()
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
