"""Starting the sandbox: it is checked before anything runs, and never silently skipped."""

from support import reportgen, run_json, write_spec

SPEC = """\
version: 1
title: Sandboxed
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: where
    code: |
      import socket
      try:
          socket.create_connection(("1.1.1.1", 53), timeout=2)
          fact("network", True)
      except OSError:
          fact("network", False)
"""


def test_builds_run_sandboxed_by_default_and_say_so(tmp_path):
    spec = write_spec(tmp_path, SPEC)
    done = reportgen("build", spec, "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    run = run_json(tmp_path / "out")
    assert run["sandbox"] == "bubblewrap"
    assert run["sections"][0]["facts"] == {"network": False}
    assert "Sandbox: bubblewrap." in (tmp_path / "out" / "report.html").read_text()


def test_unavailable_sandbox_stops_the_build_with_a_fix(tmp_path):
    spec = write_spec(tmp_path, SPEC)
    done = reportgen("build", spec, "--output", tmp_path / "out", env={"REPORTGEN_BWRAP": "/bin/false"})
    assert done.returncode == 2
    assert done.stderr.startswith("error: The session cannot be sandboxed here: bubblewrap failed (exit status 1).")
    assert "--no-sandbox" in done.stderr
    assert not (tmp_path / "out").exists()


def test_no_sandbox_must_be_asked_for_and_is_recorded(tmp_path):
    spec = write_spec(tmp_path, SPEC)
    done = reportgen("build", spec, "--no-sandbox", "--output", tmp_path / "out", env={"REPORTGEN_BWRAP": "/bin/false"})
    assert done.returncode == 0, done.stderr
    run = run_json(tmp_path / "out")
    assert run["sandbox"] == "none"
    assert "Sandbox: none (the code ran without isolation)." in (tmp_path / "out" / "report.html").read_text()
