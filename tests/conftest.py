import os

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No test may reach a real model: drop every setting that would point at one."""
    for name in list(os.environ):
        if name.startswith("OPENAI_"):
            monkeypatch.delenv(name)
