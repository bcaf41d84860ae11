import os

import pytest

from reportgen.session.setup import source
from reportgen.session.local import LocalSession
from reportgen.session.sandbox import Bubblewrap, Limits

from support import CANARY, SPECS

DATA = SPECS / "data" / "tiny.csv"
STYLE = {"theme": "light", "palette": ["#112233"], "font": "DejaVu Sans", "dpi": 50, "figsize": [3, 2], "chart_format": "png"}


@pytest.fixture(scope="package")
def sandboxed():
    """One sandboxed session shared by the adversarial steps, as a build would have."""
    os.environ["OPENAI_API_KEY"] = CANARY
    try:
        launcher = Bubblewrap(Limits(memory=3 * 1024**3, file_size=64 * 1024**2, processes=128, disk=128 * 1024**2))
        launcher.check()
        with LocalSession({"tiny": DATA}, launcher) as session:
            session.start()
            config = {"data_dir": str(session.data_dir), "out_dir": str(session.out_dir), "params": {},
                      "style": STYLE, "datasets": {"tiny": {"file": "tiny.csv", "format": "csv", "options": {}}}}
            assert session.run(source(config), timeout=120).ok
            yield session
    finally:
        os.environ.pop("OPENAI_API_KEY", None)

