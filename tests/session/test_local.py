"""The local session: a real ipykernel, driven the way a build drives it."""

import os
from pathlib import Path

import pytest

from reportgen.session.setup import source
from reportgen.session.local import LocalSession

STYLE = {"theme": "light", "palette": ["#112233", "#445566"], "font": "DejaVu Sans", "dpi": 60, "figsize": [4, 3], "chart_format": "png"}
DATA = Path(__file__).resolve().parent.parent / "specs" / "data" / "tiny.csv"


@pytest.fixture(scope="module")
def session():
    os.environ["OPENAI_API_KEY"] = "sk-canary-session"
    try:
        with LocalSession({"tiny": DATA}) as session:
            session.start()
            config = {"data_dir": str(session.data_dir), "out_dir": str(session.out_dir), "params": {"region": "North"},
                      "style": STYLE, "datasets": {"tiny": {"file": "tiny.csv", "format": "csv", "options": {}}}}
            setup = session.run(source(config), timeout=120)
            assert setup.ok, setup.error
            yield session
    finally:
        os.environ.pop("OPENAI_API_KEY", None)


def test_datasets_params_and_runtime_are_there(session):
    result = session.run("fact('rows', len(tiny))\nfact('region', params['region'])\nprint(type(DATA_DIR).__name__, pd.__name__, np.__name__)", 10)
    assert result.ok
    assert result.facts == {"rows": 5, "region": "North"}
    assert result.outputs[-1].data["text"] == "PosixPath pandas numpy\n"


def test_variables_persist_between_steps(session):
    assert session.run("kept = tiny['amount'].sum()", 10).ok
    assert session.run("fact('kept', kept)", 10).facts == {"kept": 655.25}


def test_show_and_open_figures_in_order(session):
    code = (
        "show('Some **markdown**')\n"
        "show(tiny.groupby('region')['amount'].sum(), title='By region')\n"
        "fig, ax = plt.subplots(); ax.plot([1, 2]); ax.set_title('Left open')\n"
    )
    result = session.run(code, 10)
    assert [o.kind for o in result.outputs] == ["markdown", "table", "figure"]
    table = result.outputs[1].data
    assert table["columns"] == ["region", "amount"] and table["numeric"] == [False, True]
    assert table["rows"][0] == ["East", 310.0]
    figure = result.outputs[2].data
    assert figure["title"] == "Left open" and figure["bytes"].startswith(b"\x89PNG")
    assert session.run("fact('open', len(plt.get_fignums()))", 10).facts == {"open": 0}


def test_style_reaches_matplotlib(session):
    result = session.run("fact('color', plt.rcParams['axes.prop_cycle'].by_key()['color'][0])\nfact('dpi', plt.rcParams['savefig.dpi'])", 10)
    assert result.facts == {"color": "#112233", "dpi": 60}


def test_error_fails_the_step_with_a_plain_traceback(session):
    result = session.run("x = 1\nundefined_name + 1", 10)
    assert result.status == "error"
    assert "NameError: name 'undefined_name' is not defined" in result.error
    assert "\x1b[" not in result.error
    assert session.run("fact('x', x)", 10).facts == {"x": 1}


def test_secrets_do_not_reach_the_session(session):
    result = session.run("import os\nprint(sorted(k for k in os.environ if 'KEY' in k or 'TOKEN' in k), 'sk-canary' in open('/proc/self/environ').read())", 10)
    assert result.outputs[-1].data["text"] == "[] False\n"


def test_files_written_to_out_dir_are_reported(session):
    result = session.run("(OUT_DIR / 'extract.csv').write_text('a,b\\n1,2\\n')\n(OUT_DIR / 'sub').mkdir(exist_ok=True)\n(OUT_DIR / 'sub' / 'n.txt').write_text('x')", 10)
    assert result.files == ["extract.csv", "sub/n.txt"]


def test_hang_is_interrupted_at_the_timeout_and_state_survives(session):
    assert session.run("survivor = 42", 10).ok
    result = session.run("import time\nwhile True: time.sleep(0.05)", 1)
    assert result.status == "timeout"
    assert result.error == "The step ran longer than its 1 s timeout and was interrupted."
    assert session.run("fact('survivor', survivor)", 10).facts == {"survivor": 42}


def test_loop_ignoring_interrupts_is_killed_and_state_restored(session):
    assert session.run("restored = 'yes'", 10).ok
    result = session.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass", 1)
    assert result.status == "timeout"
    assert result.error == "The step ran longer than its 1 s timeout and was stopped."
    assert result.notes == ["The session was restarted; earlier sections were re-run to restore its state."]
    assert session.run("fact('restored', restored)\nfact('rows', len(tiny))", 10).facts == {"restored": "yes", "rows": 5}


def test_kernel_death_fails_only_that_step(session):
    result = session.run("import os\nos._exit(3)", 10)
    assert result.status == "crashed"
    assert result.error == "The session's Python process died (exit status 3)."
    assert session.run("fact('again', kept)", 10).facts == {"again": 655.25}


def test_huge_stdout_is_truncated(session):
    result = session.run("print('x' * 3_000_000)", 30)
    assert result.ok
    text = result.outputs[-1].data["text"]
    assert len(text) < 1_100_000 and text.endswith("[output truncated]\n")
    assert result.notes == ["Output was truncated after 1,000,000 characters."]


def test_reset_gives_a_fresh_namespace_even_when_the_runtime_is_broken():
    with LocalSession({"tiny": DATA}) as session:
        session.start()
        assert session.run("secret = 42", 10).ok
        assert session.run("_reset = None", 10).ok  # a step that clobbers the runtime
        session.reset()
        assert session.evaluate("'secret' in globals()") == "False\n"


def test_fonts_can_be_added_after_the_kernel_started(tmp_path):
    font = tmp_path / "Brand.ttf"
    font.write_bytes(b"not really a font")
    with LocalSession({"tiny": DATA}) as session:
        session.start()
        session.use_fonts([font])
        assert session.evaluate(f"open({str(session.fonts_dir / 'Brand.ttf')!r}, 'rb').read()") == "b'not really a font'\n"
