"""What the model is told: schemas (bounded), variables, style, the runtime and the rules."""

import json

import numpy as np
import pandas as pd
import pytest

from reportgen import spec as spec_module
from reportgen.models.prompts import instructions, section_prompt
from reportgen.session import setup
from reportgen.session.local import LocalSession


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide")
    (folder / "data").mkdir()
    rng = np.random.default_rng(1)
    pd.DataFrame(rng.normal(size=(1000, 200)), columns=[f"measure_{i:03d}" for i in range(200)]).to_csv(folder / "data" / "wide.csv", index=False)
    pd.DataFrame({"day": ["2026-07-01"] * 3, "region": ["North", None, "South"], "amount": [1.5, 2.0, 3.0]}).to_csv(folder / "data" / "small.csv", index=False)
    (folder / "spec.yaml").write_text(
        "version: 1\ntitle: Wide\nparams: {month: '2026-07'}\n"
        "datasets: {wide: {path: data/wide.csv}, small: {path: data/small.csv}}\n"
        "style: {palette: ['#123456'], max_charts: 2}\n"
        "sections:\n  - id: prep\n    code: kept = small.copy()\n  - id: ask\n    question: What stands out?\n    context: Look at measure_001.\n    charts: 1\n"
    )
    spec = spec_module.load(folder / "spec.yaml")
    with LocalSession(spec.data_files) as session:
        session.start()
        assert session.run(setup.source(setup.config(spec, session.data_dir, session.out_dir)), 120).ok
        assert session.run("kept = small.copy()", 10).ok
        texts = {
            name: json.loads(session.evaluate(f"__import__('json').dumps(_schema_text([{name!r}]))")) for name in ("wide", "small")
        }
        variables = json.loads(session.evaluate("__import__('json').dumps(_variables())"))
    return spec, texts, variables


def test_schema_is_bounded_for_a_wide_table(wide):
    _, texts, _ = wide
    assert texts["wide"].startswith("wide: 1,000 rows x 200 columns\n  measure_000 (float64): ")
    assert "… 160 more columns: measure_040, measure_041" in texts["wide"]
    assert len(texts["wide"]) < 8000


def test_schema_shows_types_nulls_and_samples_never_the_whole_data(wide):
    _, texts, _ = wide
    assert texts["small"] == (
        "small: 3 rows x 3 columns\n"
        "  day (str): '2026-07-01'\n"
        "  region (str, 1 null): 'North', 'South'\n"
        "  amount (float64): 1.5, 2.0, 3.0"
    )


def test_prompt_has_everything_the_model_needs(wide):
    spec, texts, variables = wide
    prompt = section_prompt(spec, spec.sections[1], "\n".join(texts.values()), variables, {"rows": 3})
    assert "kept: DataFrame 3x3: day, region, amount" in prompt
    assert "Question: What stands out?" in prompt and "Context: Look at measure_001." in prompt
    assert "Charts wanted: 1." in prompt and "palette #123456" in prompt
    assert 'Parameters (params): {"month": "2026-07"}' in prompt
    assert "usable in the narrative)\nrows" in prompt
    rules = instructions(spec)
    assert "fact(name, value)" in rules and "show(obj, title=None)" in rules and "OUT_DIR" in rules and "DATA_DIR" in rules
    assert "Record every number the narrative mentions with fact()" in rules
    assert "At most 2 charts per section." in rules
