"""Question sections written by a model calling `run_python` in our session, over HTTP."""

import json
import signal
import subprocess
import sys
import time

import pytest
import yaml

from fake_openai import Code, Fault, FakeOpenAI, Say
from support import reportgen, run_json, write_spec

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
title: Model report
model: {{provider: {provider}, name: {name}, execution: local, api: {api}, max_attempts: 3}}
datasets: {{tiny: {{path: data/tiny.csv}}}}
sections:
  - id: total
    question: What is the total amount?
  - id: regions
    question: Which region sold the most?
    charts: 1
"""
TOTAL = [Code("total = tiny['amount'].sum()\nfact('total', total)"), Say("Sales came to **{{ total | money }}**.")]
REGIONS = [
    Code("by_region = tiny.groupby('regon')['amount'].sum()"),
    Code("by_region = tiny.groupby('region')['amount'].sum().sort_values()\nfact('top', by_region.index[-1])\n"
         "ax = by_region.plot.barh(title='Amount by region')"),
    Say("{{ top }} sold the most."),
]


def spec_for(tmp_path, api="chat", provider="openai-compatible", name="local-model"):
    return write_spec(tmp_path, SPEC.format(api=api, provider=provider, name=name))


def scripted(fake: FakeOpenAI) -> FakeOpenAI:
    fake.on("What is the total amount?", *TOTAL)
    fake.on("Which region sold the most?", *REGIONS)
    return fake


def rebuild_asking_again(fake: FakeOpenAI, spec, out, question: str) -> None:
    """Rebuild: the first section replays its lock entry, the model answers `question` again."""
    fake.requests.clear()
    fake.on(question, *REGIONS[1:])
    done = reportgen("build", spec, "--output", out, env=fake.env())
    assert done.returncode == 0, done.stderr
    assert len(fake.model_requests()) == 2
    assert [s["source"] for s in run_json(out)["sections"]] == ["lock", "model"]


@pytest.mark.parametrize("api, provider", [("chat", "openai-compatible"), ("responses", "openai")])
def test_model_writes_sections_and_a_rebuild_replays_them_with_no_request(tmp_path, api, provider):
    spec = spec_for(tmp_path, api, provider, "gpt-4o" if provider == "openai" else "local-model")
    out = tmp_path / "out"
    with scripted(FakeOpenAI()) as fake:
        first = reportgen("build", spec, "--output", out, env=fake.env())
        assert first.returncode == 0, first.stderr
        run = run_json(out)
        assert [(s["source"], s["status"], s["attempts"]) for s in run["sections"]] == [("model", "ok", 1), ("model", "ok", 2)]
        assert run["sections"][1]["requests"] == 3 and run["sections"][1]["tokens"]["input"] > 0
        assert run["model"]["requests"] == 5 and run["model"]["execution"] == "local"
        html = (out / "report.html").read_text()
        assert "Sales came to <strong>$655.25</strong>." in html and "East sold the most." in html
        assert html.count('<img src="data:image/png') == 1
        lock = yaml.safe_load((tmp_path / "spec.lock.yaml").read_text())
        assert list(lock["sections"]) == ["total", "regions"]
        assert lock["sections"]["regions"]["code"].startswith("by_region = tiny.groupby('region')")
        assert lock["sections"]["regions"]["provenance"]["attempts"] == 2
        assert "Model " in first.stderr and "5 requests" in first.stderr

        fake.requests.clear()
        (tmp_path / "data" / "tiny.csv").write_text((tmp_path / "data" / "tiny.csv").read_text() + "2026-07-04,West,1000.0\n")
        second = reportgen("build", spec, "--output", out, env=fake.env())
        assert second.returncode == 0, second.stderr
        assert fake.model_requests() == []
        assert [s["source"] for s in run_json(out)["sections"]] == ["lock", "lock"]
        assert "Sales came to <strong>$1,655</strong>." in (out / "report.html").read_text()


def test_self_correction_gives_up_after_max_attempts(tmp_path):
    spec = spec_for(tmp_path)
    with FakeOpenAI() as fake:
        fake.on("What is the total amount?", *TOTAL)
        fake.on("Which region sold the most?", *[Code("1 / 0")] * 5)
        done = reportgen("build", spec, "--output", tmp_path / "out", env=fake.env())
    assert done.returncode == 1
    section = run_json(tmp_path / "out")["sections"][1]
    assert section["status"] == "failed" and section["attempts"] == 3
    assert section["error"].startswith("No working code after 3 attempt(s). Last error:")
    assert "ZeroDivisionError" in section["error"]
    assert list(yaml.safe_load((tmp_path / "spec.lock.yaml").read_text())["sections"]) == ["total"]


def test_narrative_with_an_unrecorded_number_is_sent_back(tmp_path):
    spec = spec_for(tmp_path)
    with FakeOpenAI() as fake:
        fake.on("What is the total amount?", TOTAL[0], Say("Sales came to {{ revenue | money }}."), Say("Sales came to {{ total | money }}, up 5% on June."))
        fake.on("Which region sold the most?", *REGIONS)
        done = reportgen("build", spec, "--output", tmp_path / "out", env=fake.env())
        assert done.returncode == 0, done.stderr
        second_prompt = json.dumps(fake.model_requests()[2][2]["messages"])
    assert "Your narrative cannot be used: the narrative uses 'revenue' is undefined" in second_prompt
    section = run_json(tmp_path / "out")["sections"][0]
    assert section["warnings"] == ["the narrative states 5% but no fact backs it"]
    assert "the narrative states 5% but no fact backs it" in (tmp_path / "out" / "report.html").read_text()


def test_changed_question_regenerates_only_that_section_and_later_ones(tmp_path):
    spec = spec_for(tmp_path)
    with scripted(FakeOpenAI()) as fake:
        assert reportgen("build", spec, "--output", tmp_path / "out", env=fake.env()).returncode == 0
        spec.write_text(spec.read_text().replace("Which region sold the most?", "Which region sold the most, by amount?"))
        rebuild_asking_again(fake, spec, tmp_path / "out", "Which region sold the most, by amount?")


def test_frozen_never_calls_the_model(tmp_path):
    spec = spec_for(tmp_path)
    with scripted(FakeOpenAI()) as fake:
        done = reportgen("build", spec, "--frozen", "--output", tmp_path / "out", env=fake.env())
        assert done.returncode == 2
        assert "2 question sections have no matching entry in spec.lock.yaml" in done.stderr
        assert fake.requests == []


def test_refresh_regenerates_the_named_section(tmp_path):
    spec = spec_for(tmp_path)
    with scripted(FakeOpenAI()) as fake:
        assert reportgen("build", spec, "--output", tmp_path / "out", env=fake.env()).returncode == 0
        fake.requests.clear()
        fake.on("What is the total amount?", Code("total = float(tiny['amount'].sum())\nfact('total', total)"), Say("In all: {{ total | money }}."))
        done = reportgen("build", spec, "--refresh", "total", "--output", tmp_path / "out", env=fake.env())
        assert done.returncode == 0, done.stderr
        assert len(fake.model_requests()) == 2
        assert [s["source"] for s in run_json(tmp_path / "out")["sections"]] == ["model", "lock"]
        bad = reportgen("build", spec, "--refresh", "nope", "--output", tmp_path / "out", env=fake.env())
        assert bad.returncode == 2 and "--refresh nope: no question section with that id; question sections: total, regions." in bad.stderr


def test_replay_that_breaks_on_new_data_is_repaired_or_fails_when_frozen(tmp_path):
    spec = spec_for(tmp_path)
    with scripted(FakeOpenAI()) as fake:
        assert reportgen("build", spec, "--output", tmp_path / "out", env=fake.env()).returncode == 0
        lock = yaml.safe_load((tmp_path / "spec.lock.yaml").read_text())
        lock["sections"]["total"]["code"] = "total = tiny['amount_usd'].sum()\nfact('total', total)\n"
        (tmp_path / "spec.lock.yaml").write_text(yaml.safe_dump(lock, sort_keys=False))

        frozen = reportgen("build", spec, "--frozen", "--output", tmp_path / "frozen", env=fake.env())
        assert frozen.returncode == 1
        assert "KeyError: 'amount_usd'" in run_json(tmp_path / "frozen")["sections"][0]["error"]

        fake.requests.clear()
        fake.on("What is the total amount?", *TOTAL)
        repaired = reportgen("build", spec, "--output", tmp_path / "out", env=fake.env())
        assert repaired.returncode == 0, repaired.stderr
        assert "total: the saved code failed on this data; asking the model to repair it" in repaired.stderr
        prompt = json.dumps(fake.model_requests()[0][2]["messages"])
        assert "## Repair" in prompt and "amount_usd" in prompt
    assert "amount_usd" not in (tmp_path / "spec.lock.yaml").read_text()


def test_rate_limit_then_success(tmp_path):
    spec = spec_for(tmp_path)
    with scripted(FakeOpenAI()) as fake:
        fake.faults.append(Fault(429, "Rate limit reached", {"retry-after-ms": "10"}, "rate_limit_exceeded"))
        fake.faults.append(Fault(500, "The server had an error", {"retry-after-ms": "10"}))
        done = reportgen("build", spec, "--output", tmp_path / "out", env=fake.env())
        assert done.returncode == 0, done.stderr
        assert len(fake.model_requests()) == 7


@pytest.mark.parametrize(
    "env, message",
    [
        ({"OPENAI_API_KEY": "wrong"}, "rejected the API key (401). Set OPENAI_API_KEY to a valid key."),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, "Cannot reach the model server at http://127.0.0.1:9/v1"),
    ],
    ids=["bad-key", "unreachable"],
)
def test_unusable_model_stops_before_anything_runs(tmp_path, env, message):
    spec = spec_for(tmp_path)
    with scripted(FakeOpenAI()) as fake:
        done = reportgen("build", spec, "--output", tmp_path / "out", env={**fake.env(), **env})
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "spec.lock.yaml").exists()


def test_unknown_model_name(tmp_path):
    spec = spec_for(tmp_path, name="no-such-model")
    with scripted(FakeOpenAI()) as fake:
        done = reportgen("build", spec, "--output", tmp_path / "out", env=fake.env())
    assert done.returncode == 2
    assert "Model 'no-such-model' is not available at " in done.stderr and "it offers: gpt-4o, local-model" in done.stderr


def test_killed_build_resumes_from_the_lock(tmp_path):
    spec = spec_for(tmp_path)
    with FakeOpenAI() as fake:
        fake.on("What is the total amount?", *TOTAL)
        fake.on("Which region sold the most?", Code("import time\ntime.sleep(120)"))
        build = subprocess.Popen([sys.executable, "-m", "reportgen", "build", spec, "--output", tmp_path / "out"],
                                 env={**__import__("os").environ, **fake.env()}, stderr=subprocess.PIPE, text=True)
        lock = tmp_path / "spec.lock.yaml"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(fake.model_requests()) < 3:
            time.sleep(0.2)
        time.sleep(1)
        build.send_signal(signal.SIGINT)
        build.wait(timeout=60)
        assert list(yaml.safe_load(lock.read_text())["sections"]) == ["total"]

        fake.script.clear()
        rebuild_asking_again(fake, spec, tmp_path / "out", "Which region sold the most?")
