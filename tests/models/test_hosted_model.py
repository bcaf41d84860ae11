"""Code Interpreter: one container per build, kept in step with the local session."""

import json

import pytest
import yaml

from fake_openai import Code, FakeOpenAI, Say
from support import reportgen, run_json, write_spec

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
title: Hosted report
model: {provider: openai, name: gpt-4o, max_attempts: 4}
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: prep
    code: |
      tiny["double"] = tiny["amount"] * 2
  - id: total
    question: What is the total amount?
  - id: regions
    question: Which region sold the most?
    charts: 1
"""


def script(fake: FakeOpenAI) -> FakeOpenAI:
    fake.on("What is the total amount?", Code("total = tiny['double'].sum() / 2\nfact('total', total)\n(OUT_DIR / 'total.txt').write_text(str(total))"),
            Say("Sales came to **{{ total | money }}**."))
    fake.on("Which region sold the most?",
            Code("by_region = tiny.groupby('regon')['amount'].sum()"),
            Code("by_region = tiny.groupby('region')['amount'].sum().sort_values()\nfact('top', by_region.index[-1])\n"
                 "fact('share', by_region.iloc[-1] / total)\nax = by_region.plot.barh(title='Amount by region')"),
            Say("{{ top }} sold the most, {{ share | pct }} of the total."))
    return fake


def posts(fake, suffix):
    return [r for r in fake.requests if r[0] == "POST" and r[1].endswith(suffix)]


def test_hosted_build_uses_one_container_and_saves_the_code_that_worked(tmp_path):
    spec = write_spec(tmp_path, SPEC)
    out = tmp_path / "out"
    with script(FakeOpenAI()) as fake:
        done = reportgen("build", spec, "--output", out, env=fake.env())
        assert done.returncode == 0, done.stderr
        assert len(posts(fake, "/containers")) == 1
        uploads = [r[2] for r in posts(fake, "/files")]
        assert sum(b'filename="tiny.csv"' in body for body in uploads) == 1
        requests = [r[2] for r in fake.model_requests()]
        assert requests[0]["tools"][0]["type"] == "code_interpreter"
        assert requests[0]["include"] == ["code_interpreter_call.outputs"]
        assert "exec(open('/mnt/data/reportgen_sync_1.py').read())" in json.dumps(requests[0]["input"])
    run = run_json(out)
    assert [(s["id"], s["source"], s["status"], s["attempts"]) for s in run["sections"]] == [
        ("prep", "code", "ok", 1), ("total", "model", "ok", 1), ("regions", "model", "ok", 2)]
    assert run["model"]["execution"] == "hosted" and run["model"]["containers"] == 1
    lock = yaml.safe_load((tmp_path / "spec.lock.yaml").read_text())["sections"]
    assert lock["regions"]["code"].startswith("by_region = tiny.groupby('region')")
    assert "reportgen_sync" not in json.dumps(lock)
    assert lock["regions"]["provenance"]["execution"] == "hosted"
    html = (out / "report.html").read_text()
    assert "Sales came to <strong>$655.25</strong>." in html and "East sold the most, 47.3% of the total." in html
    assert (out / "assets" / "files" / "total.txt").read_text() == "655.25"

    with FakeOpenAI() as fake:
        again = reportgen("build", spec, "--output", out, env=fake.env())
        assert again.returncode == 0, again.stderr
        assert fake.requests == [] or fake.model_requests() == []


def test_expired_container_is_recreated_and_the_build_goes_on(tmp_path):
    spec = write_spec(tmp_path, SPEC)
    with script(FakeOpenAI()) as fake:
        fake.expire_before_response(2)
        done = reportgen("build", spec, "--output", tmp_path / "out", env=fake.env())
        assert done.returncode == 0, done.stderr
        assert len(posts(fake, "/containers")) == 2
        assert done.stderr.count("container expired") == 1
        second_sync = [r[2] for r in posts(fake, "/files") if b"reportgen_sync_2.py" in r[2]][0]
        assert b'tiny["double"] = tiny["amount"] * 2' in second_sync and b"total = tiny['double'].sum() / 2" in second_sync
    run = run_json(tmp_path / "out")
    assert [s["status"] for s in run["sections"]] == ["ok", "ok", "ok"]
    assert run["model"]["containers"] == 2
