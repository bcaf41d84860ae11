"""Model traffic for the example: requests and tokens per section, first build vs rebuild,
and the prompt size for a 10-column and a 200-column dataset.

    .venv/bin/python bench/model.py

The model is the test suite's scripted OpenAI-compatible server answering with the
example's hand-written code, so request counts are exact; its token counts are
characters / 4, an estimate of what a real tokenizer would count.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import Code, FakeOpenAI, Say  # noqa: E402

from reportgen import spec as spec_module  # noqa: E402
from reportgen.models.prompts import instructions, section_prompt  # noqa: E402
from reportgen.session import setup  # noqa: E402
from reportgen.session.local import LocalSession  # noqa: E402

BIN = Path(sys.executable).parent


def example_traffic(work: Path) -> None:
    shutil.copytree(ROOT / "specs", work / "specs")
    lock_path = work / "specs" / "q3.lock.yaml"
    lock = yaml.safe_load(lock_path.read_text())["sections"]
    lock_path.unlink()
    spec_path = work / "specs" / "q3.yaml"
    spec_path.write_text(spec_path.read_text().replace("sections:", "model: {provider: openai-compatible, name: local-model}\n\nsections:", 1))
    questions = {s.id: s.question for s in spec_module.load(spec_path).sections if s.question}
    with FakeOpenAI() as fake:
        for section_id, entry in lock.items():
            fake.on(questions[section_id], Code(entry["code"]), Say(entry["narrative"]))
        for label in ("first build", "rebuild"):
            fake.requests.clear()
            done = subprocess.run([BIN / "reportgen", "build", spec_path, "--output", work / "out"],
                                  env={**os.environ, **fake.env()}, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(done.stderr)
            run = json.loads((work / "out" / "run.json").read_text())
            print(f"\n{label}: {len(fake.model_requests())} model requests")
            print(f"  {'section':<16} {'source':<6} {'requests':>8} {'input tok':>10} {'output tok':>11}")
            for s in run["sections"]:
                print(f"  {s['id']:<16} {s['source']:<6} {s['requests']:>8} {s['tokens']['input']:>10,} {s['tokens']['output']:>11,}")


def prompt_sizes(work: Path) -> None:
    rng = np.random.default_rng(0)
    data = work / "wide"
    data.mkdir()
    print("\nprompt size (instructions + section prompt)")
    for columns in (10, 200):
        frame = pd.DataFrame(rng.normal(size=(5000, columns)), columns=[f"metric_{i:03d}" for i in range(columns)])
        frame.to_csv(data / f"d{columns}.csv", index=False)
        spec_file = data / f"s{columns}.yaml"
        spec_file.write_text(f"version: 1\ntitle: T\ndatasets: {{d: {{path: d{columns}.csv}}}}\nsections: [{{id: q, question: 'What changed?'}}]\n")
        spec = spec_module.load(spec_file)
        with LocalSession({"d": spec.dataset_path("d")}) as session:
            session.start()
            session.run(setup.source(setup.config(spec, session.data_dir, session.out_dir)), 120)
            schema = json.loads(session.evaluate("__import__('json').dumps(_schema_text(['d']))"))
        text = instructions(spec) + section_prompt(spec, spec.sections[0], schema, "", {})
        print(f"  {columns:>3} columns: {len(text):>6,} characters, about {len(text) // 4:,} tokens")


if __name__ == "__main__":
    work = Path(tempfile.mkdtemp(prefix="reportgen-bench-model-"))
    try:
        example_traffic(work)
        prompt_sizes(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
