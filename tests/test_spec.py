
import pytest

from reportgen import spec as spec_module
from reportgen.errors import SpecError

from support import SPECS, write_spec

BAD = SPECS / "bad"


def problems(name: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        spec_module.load(BAD / name)
    return [f"{p.line}:{p.column}: {p.path}: {p.message}" if p.path else f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("unknown_key.yaml", ["8:5: sections[0].titel: unknown key 'titel' (did you mean 'title'?)"]),
        (
            "wrong_type.yaml",
            [
                "7:8: style.dpi: input should be a valid integer, unable to parse string as an integer (got 'high')",
                "13:13: sections[1].charts: input should be a valid integer, unable to parse string as an integer (got 'two')",
            ],
        ),
        ("yaml_syntax.yaml", ["8:11: YAML syntax error: while scanning a quoted scalar, found unexpected end of stream"]),
        ("duplicate_ids.yaml", ["9:9: sections[1].id: duplicate section id 'one' (also sections[0])"]),
        (
            "several_problems.yaml",
            [
                "1:1: title: missing required key 'title'",
                "1:10: version: input should be 1 (got 2)",
                "5:5: datasets.tiny.formt: unknown key 'formt' (did you mean 'format'?)",
                "7:9: sections[0].id: section id 'Bad_Id' may use only lower-case letters, digits and dashes, e.g. 'bad-id'",
                "9:5: sections[1]: a section needs a `question:` or `code:`",
            ],
        ),
    ],
)
def test_bad_spec_reports_every_problem_with_its_position(fixture, expected):
    assert problems(fixture) == expected


def test_missing_dataset_names_the_filled_in_path():
    (found,) = problems("missing_dataset.yaml")
    assert found == f"7:11: datasets.sales.path: dataset file not found: {SPECS / 'data' / 'sales-2026-07.csv'}"


def test_missing_template_names_the_template():
    (found,) = problems("missing_template.yaml")
    assert found.startswith("10:13: output.template: template 'brand.html.j2' not found in ")


def test_error_text_starts_with_file_line_column():
    with pytest.raises(SpecError) as caught:
        spec_module.load(BAD / "unknown_key.yaml")
    first, last = str(caught.value).splitlines()[0], str(caught.value).splitlines()[-1]
    assert first == f"{BAD / 'unknown_key.yaml'}:8:5: sections[0].titel: unknown key 'titel' (did you mean 'title'?)"
    assert last == "1 problem in the spec; nothing was run."


def test_duplicate_yaml_key_is_an_error(tmp_path):
    path = write_spec(tmp_path, "version: 1\ntitle: A\ntitle: B\ndatasets: {t: {path: data/tiny.csv}}\nsections: [{id: a, code: x = 1}]\n")
    with pytest.raises(SpecError) as caught:
        spec_module.load(path)
    assert [str(p).split(": ", 1)[1] for p in caught.value.problems] == ["title: key 'title' appears twice"]


def test_param_override_fills_dataset_path(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales-2026-08.csv").write_text("a\n1\n")
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\ntitle: T\nparams: {month: '2026-07'}\n"
        "datasets: {sales: {path: 'data/sales-{{ params.month }}.csv'}}\nsections: [{id: a, code: x = 1}]\n"
    )
    spec = spec_module.load(path, {"month": "2026-08"})
    assert spec.params == {"month": "2026-08"}
    assert spec.dataset_path("sales") == (tmp_path / "data" / "sales-2026-08.csv").resolve()


def test_unknown_param_override_suggests_the_declared_one(tmp_path):
    path = write_spec(tmp_path, "version: 1\ntitle: T\nparams: {month: x}\ndatasets: {t: {path: data/tiny.csv}}\nsections: [{id: a, code: x = 1}]\n")
    with pytest.raises(SpecError) as caught:
        spec_module.load(path, {"mont": "y"})
    assert caught.value.problems[0].message == "--param mont: no such parameter (did you mean 'month'?); declare it under `params:`"


def test_param_values_are_typed_like_yaml(tmp_path):
    path = write_spec(tmp_path, "version: 1\ntitle: T\nparams: {year: 2025}\ndatasets: {t: {path: data/tiny.csv}}\nsections: [{id: a, code: x = 1}]\n")
    assert spec_module.load(path, {"year": "2026"}).params["year"] == 2026


def test_defaults_and_headings(tmp_path):
    path = write_spec(tmp_path, "version: 1\ntitle: T\ndatasets: {t: {path: data/tiny.csv}}\nsections: [{id: revenue-by-month, code: x = 1}]\n")
    spec = spec_module.load(path)
    assert spec.sections[0].heading == "Revenue by month"
    assert spec.output.formats == ["html"]
    assert spec.session.sandbox == "bubblewrap"
    assert spec.dataset_format("t") == "csv"


def test_size_parsing():
    assert spec_module.parse_size("4GiB") == 4 * 1024**3
    assert spec_module.parse_size("512MiB") == 512 * 1024**2
    with pytest.raises(ValueError):
        spec_module.parse_size("lots")
