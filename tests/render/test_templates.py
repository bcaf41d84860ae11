import pytest

from reportgen.errors import RenderError
from reportgen.render import Theme, builtin_theme, format_cell, render_html


def report(**section):
    base = {"id": "one", "number": 1, "title": "One", "status": "ok", "source": "code", "seconds": 0.1,
            "narrative": "Plain **text**", "outputs": [], "warnings": [], "error": None, "error_summary": "", "attachments": []}
    return {
        "title": "Report <b>title</b>", "subtitle": None, "author": None, "date": None,
        "style": {"palette": ["#0B5FFF"], "font": "DejaVu Sans", "theme": "light"},
        "sections": [{**base, **section}],
        "build": {"status": "ok", "failed": [], "spec": "s.yaml", "params": {}, "sandbox": "none"},
    }


def test_html_is_escaped_and_narrative_is_markdown(tmp_path):
    html = render_html(report(), Theme([builtin_theme()]), tmp_path)
    assert "<title>Report &lt;b&gt;title&lt;/b&gt;</title>" in html
    assert "<p>Plain <strong>text</strong></p>" in html


def test_table_numbers_are_right_aligned_and_formatted(tmp_path):
    table = {"kind": "table", "title": "T", "columns": ["name", "value"], "numeric": [False, True],
             "rows": [["a", 1234.5], ["b", None]], "total_rows": 2}
    html = render_html(report(outputs=[table]), Theme([builtin_theme()]), tmp_path)
    assert '<td class="num">1,234.5</td>' in html
    assert '<td class="num">–</td>' in html


def test_figures_are_inlined(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "c.png").write_bytes(b"\x89PNG fake")
    figure = {"kind": "figure", "file": "assets/c.png", "mime": "image/png", "title": "Chart <1>"}
    html = render_html(report(outputs=[figure]), Theme([builtin_theme()]), tmp_path)
    assert '<img src="data:image/png;base64,iVBORyBmYWtl" alt="Chart &lt;1&gt;">' in html


def test_project_template_overrides_one_file(tmp_path):
    project = tmp_path / "templates"
    project.mkdir()
    (project / "figure.html.j2").write_text("<p>custom figure</p>")
    (project / "build-log.html.j2").write_text("<footer>Made by ACME</footer>")
    html = render_html(report(), Theme([project, builtin_theme()]), tmp_path)
    assert "<footer>Made by ACME</footer>" in html
    assert 'class="toc"' in html


def test_template_error_names_file_and_line(tmp_path):
    project = tmp_path / "templates"
    project.mkdir()
    (project / "build-log.html.j2").write_text("<p>\n{{ build.nonexistent.value }}</p>")
    with pytest.raises(RenderError) as caught:
        render_html(report(), Theme([project, builtin_theme()]), tmp_path)
    assert str(caught.value) == (
        f"{project / 'build-log.html.j2'}:2: template error: 'dict object' has no attribute 'nonexistent'. The last good report was kept."
    )


def test_template_syntax_error_is_found_before_building(tmp_path):
    project = tmp_path / "templates"
    project.mkdir()
    (project / "section.html.j2").write_text("{% if %}")
    with pytest.raises(RenderError) as caught:
        Theme([project, builtin_theme()]).validate()
    assert str(caught.value).startswith(f"{project / 'section.html.j2'}:1: template syntax error: ")


def test_format_cell():
    assert format_cell(1234567) == "1,234,567"
    assert format_cell(0.5, 2) == "0.50"
    assert format_cell(None) == "–"
    assert format_cell("text") == "text"


def test_untitled_figures_get_alt_text(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "c.png").write_bytes(b"\x89PNG fake")
    figure = {"kind": "figure", "file": "assets/c.png", "mime": "image/png", "title": None}
    html = render_html(report(outputs=[figure, figure]), Theme([builtin_theme()]), tmp_path)
    assert 'alt="Chart 1 of One"' in html and 'alt="Chart 2 of One"' in html
