import pytest

from reportgen.errors import LockError
from reportgen.lock import Lock, LockEntry, Provenance


def entry(code="x = 1\ny = 2\n"):
    return LockEntry(inputs="abc", code=code, narrative="{{ x }}", facts=["x"], provenance=Provenance(provider="hand", created="2026-10-01T00:00:00Z"))


def test_round_trip_keeps_code_readable(tmp_path):
    path = tmp_path / "q3.lock.yaml"
    lock = Lock(sections={"one": entry()})
    lock.write(path, "q3.yaml")
    text = path.read_text()
    assert text.startswith("# Code reportgen saved for the question sections of q3.yaml.")
    assert "code: |\n      x = 1\n      y = 2\n" in text
    assert Lock.read(path) == lock


def test_missing_lock_is_empty(tmp_path):
    assert Lock.read(tmp_path / "none.lock.yaml").sections == {}


def test_damaged_lock_says_what_to_do(tmp_path):
    path = tmp_path / "q3.lock.yaml"
    path.write_text("version: 1\nsections:\n  one: {code: 1\n")
    with pytest.raises(LockError) as caught:
        Lock.read(path)
    assert str(caught.value).startswith(f"{path}: the lock file is damaged (")
    assert str(caught.value).endswith("Restore it from version control, or delete it to have the model write every section again.")


def test_path_is_next_to_the_spec(tmp_path):
    assert Lock.path_for(tmp_path / "specs" / "q3.yaml") == tmp_path / "specs" / "q3.lock.yaml"
