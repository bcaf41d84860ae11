import pytest

from reportgen import spec as spec_module
from reportgen.errors import LockError
from reportgen.lock import Lock, LockEntry, Provenance
from reportgen.plan import input_hashes, plan

from support import write_spec

SPEC = """\
version: 1
title: T
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: load
    code: x = 1
  - id: ask
    question: How much?
  - id: after
    question: And then?
"""
SCHEMAS = {"tiny": {"day": "object", "region": "object", "amount": "float64"}}


def load(tmp_path, text=SPEC):
    return spec_module.load(write_spec(tmp_path, text))


def locked(hashes, *ids):
    prov = Provenance(provider="hand", created="2026-10-01T00:00:00Z")
    return Lock(sections={i: LockEntry(inputs=hashes[i], code=f"# {i}", narrative="n", provenance=prov) for i in ids})


def test_hash_ignores_params_and_rows_but_not_schema_or_question(tmp_path):
    spec = load(tmp_path)
    base = input_hashes(spec, SCHEMAS)
    spec.params["month"] = "2026-08"
    assert input_hashes(spec, SCHEMAS) == base
    assert input_hashes(spec, {"tiny": {**SCHEMAS["tiny"], "amount": "int64"}})["ask"] != base["ask"]
    spec.sections[1].question = "How many?"
    changed = input_hashes(spec, SCHEMAS)
    assert changed["load"] == base["load"]
    assert changed["ask"] != base["ask"] and changed["after"] != base["after"]


def test_matching_entries_replay(tmp_path):
    spec = load(tmp_path)
    hashes = input_hashes(spec, SCHEMAS)
    steps = plan(spec, locked(hashes, "ask", "after"), SCHEMAS, lock_name="spec.lock.yaml")
    assert [(s.source, s.code, s.file_name) for s in steps] == [
        ("code", "x = 1", "01-load.py"),
        ("lock", "# ask", "02-ask.py"),
        ("lock", "# after", "03-after.py"),
    ]


def test_missing_and_stale_entries_stop_the_build_with_one_message(tmp_path):
    spec = load(tmp_path)
    hashes = input_hashes(spec, SCHEMAS)
    lock = locked({**hashes, "after": "old"}, "after")
    with pytest.raises(LockError) as caught:
        plan(spec, lock, SCHEMAS, lock_name="spec.lock.yaml")
    assert str(caught.value) == (
        "2 question sections have no matching entry in spec.lock.yaml and no model is configured to write the code: "
        "ask (no entry); after (its inputs changed since the entry was written). Nothing was run. To fix it, set "
        "OPENAI_API_KEY (or configure `model:` in the spec) and build without --frozen, or restore the lock file "
        "from version control."
    )
