import datetime as dt

import pytest

from reportgen import narrative


def test_number_filters():
    assert narrative.num(1234567) == "1,234,567"
    assert narrative.num(3.14159) == "3.1"
    assert narrative.num(3.14159, 2) == "3.14"
    assert narrative.pct(0.123) == "12.3%"
    assert narrative.pct(-0.05, 0) == "-5%"
    assert narrative.money(1234.5) == "$1,234"
    assert narrative.money(12.5) == "$12.50"
    assert narrative.money(-2500, "EUR") == "-€2,500"
    assert narrative.money(99, "CHF") == "CHF 99.00"
    assert narrative.date(dt.date(2026, 7, 1)) == "1 July 2026"
    assert narrative.date("2026-07-01", "%b %Y") == "Jul 2026"


def test_render_uses_facts_and_params():
    text = narrative.render(
        'Revenue {{ "rose" if growth > 0 else "fell" }} {{ growth | pct }} in {{ params.q }}.', {"growth": 0.051}, {"q": "Q3"}
    )
    assert text == "Revenue rose 5.1% in Q3."


def test_missing_fact_is_a_clear_error():
    with pytest.raises(narrative.NarrativeError) as caught:
        narrative.render("{{ revenue | money }}", {"growth": 1}, {})
    assert str(caught.value) == "the narrative uses 'revenue' is undefined; facts recorded: growth"


def test_narrative_cannot_reach_python_internals():
    with pytest.raises(narrative.NarrativeError):
        narrative.render("{{ growth.__class__.__mro__[-1].__subclasses__() }}", {"growth": 1}, {})


def test_markdown_renders_without_raw_html():
    html = narrative.to_html("**Bold** <script>alert(1)</script> <img src=x onerror=alert(1)>")
    assert "<strong>Bold</strong>" in html
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_literal_numbers_in_the_text_are_flagged():
    template = "Revenue grew {{ growth | pct }}, to 4.2 million across 3 regions in Q3; {{ n }} orders."
    assert narrative.unbacked_numbers(template, {"growth": 0.1, "n": 5}) == ["4.2", "3"]
    assert narrative.unbacked_numbers("We sold 5 units.", {"units": 5}) == []
