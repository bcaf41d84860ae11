"""Whatever text a step produces reaches the report as inert text."""

import re

from support import reportgen, run_json, write_spec

SPEC = r'''
version: 1
title: Injection
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: hostile
    code: |
      evil = "<script>alert(1)</script> {{7*7}} <img src=file:///etc/passwd> <style>body{background:url(http://evil.example/x)}</style>"
      fact("evil", evil)
      show(pd.DataFrame({"cell": [evil]}), title=evil)
      show("Markdown " + evil + " ![x](file:///etc/passwd) [link](javascript:alert(1))")
      fig, ax = plt.subplots(); ax.plot([1, 2]); ax.set_title(evil)
    narrative: "The fact says {{ evil }}."
'''


def test_outputs_render_as_inert_text(tmp_path):
    spec = write_spec(tmp_path, SPEC)
    done = reportgen("build", spec, "--format", "html", "--format", "pdf", "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    body = html[html.index("<body"):]
    assert "<script" not in body and "<style" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    narrative = re.search(r'<div class="narrative">(.*?)</div>', body, re.S).group(1)
    assert "The fact says &lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} &lt;img" in narrative
    assert not re.search(r'<img[^>]+src="(?!data:)', body)
    assert 'href="javascript:' not in body
    assert "url(http://evil.example/x)" not in html.split("<body")[0]
    assert (tmp_path / "out" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert run_json(tmp_path / "out")["status"] == "ok"


def test_a_flood_of_charts_is_capped(tmp_path):
    spec = write_spec(tmp_path, """\
version: 1
title: Charts
style: {dpi: 50, figsize: [2, 1], max_charts: 40}
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: many
    code: |
      for i in range(40):
          fig, ax = plt.subplots(); ax.plot([0, i])
""")
    done = reportgen("build", spec, "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    section = run_json(tmp_path / "out")["sections"][0]
    assert "The step made 40 charts; the first 30 are in the report." in section["warnings"]
    assert (tmp_path / "out" / "report.html").read_text().count("<img") == 30
