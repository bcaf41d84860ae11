"""The kernel started from the spec's raw YAML, before the spec is validated."""

import pytest

from reportgen.session.early import EarlyKernel, requested_session
from reportgen.session.sandbox import Unconfined

from support import SPECS, reportgen, run_json, write_spec

TINY = SPECS / "data" / "tiny.csv"


def test_the_raw_yaml_names_datasets_sandbox_and_memory(tmp_path):
    spec = write_spec(tmp_path, "datasets: {tiny: {path: data/tiny.csv}}\nsession: {memory: 2GiB}\n")
    assert requested_session(spec) == ({"tiny": (tmp_path / "data" / "tiny.csv").resolve()}, "bubblewrap", "2GiB")


@pytest.mark.parametrize("text", [
    "datasets: {tiny: {path: 'data/{{ params.name }}.csv'}}",  # known only after validation
    "datasets: {tiny: {path: data/missing.csv}}",
    "datasets: {tiny: {path: data/tiny.csv}}\nmatrix: {region: [North, South]}",  # a fleet: warm kernels instead
    "datasets: {tiny: {path: data/tiny.csv}}\nsession: {sandbox: docker}",
    "datasets: [tiny]",
    "datasets: {tiny: {path: data/tiny.csv}\n",  # not YAML
])
def test_no_early_kernel_where_the_session_is_not_plain_to_see(tmp_path, text):
    assert requested_session(write_spec(tmp_path, text)) is None


def test_a_build_that_needs_another_session_gets_a_fresh_kernel(tmp_path):
    other = write_spec(tmp_path, "").parent / "data" / "tiny.csv"
    early = EarlyKernel({"tiny": TINY}, Unconfined())
    started = early.launched
    with early.session({"tiny": other}, Unconfined(), [], lambda: None) as session:
        assert session is not started and session.data_files == {"tiny": other}
        assert session.evaluate("1 + 1") == "2\n"
    assert not started.root.exists() and not started.alive()


@pytest.mark.e2e
def test_an_invalid_spec_stops_the_early_kernel_and_leaves_nothing(tmp_path):
    spec = write_spec(tmp_path, "version: 1\ntitle: Bad\ndatasets: {tiny: {path: data/tiny.csv}}\nsections: [{id: a, code: 'x = 1', colour: red}]\n")
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = reportgen("build", spec, "--output", tmp_path / "out", env={"TMPDIR": str(temp)})
    assert done.returncode == 2
    assert "colour" in done.stderr and "nothing was run" in done.stderr
    assert list(temp.iterdir()) == [] and not (tmp_path / "out").exists()


@pytest.mark.e2e
def test_a_spec_whose_session_is_only_known_after_validation_builds(tmp_path):
    spec = write_spec(tmp_path, "version: 1\ntitle: Later\nparams: {name: tiny}\ndatasets: {tiny: {path: 'data/{{ params.name }}.csv'}}\n"
                                "sections: [{id: a, code: 'fact(\"rows\", len(tiny))'}]\n")
    done = reportgen("build", spec, "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert run_json(tmp_path / "out")["sections"][0]["facts"] == {"rows": 5}
