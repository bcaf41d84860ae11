"""`reportgen theme export`: the built-in theme copied out, for deeper changes."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import UsageError
from .render import builtin_theme


def export(target: Path, force: bool = False) -> list[Path]:
    """Copy every built-in template, stylesheet and the default brand into target."""
    target = Path(target)
    source = builtin_theme()
    files = sorted(p for p in source.iterdir() if p.is_file())
    clashes = [target / p.name for p in files if (target / p.name).exists()]
    if clashes and not force:
        names = ", ".join(p.name for p in clashes)
        raise UsageError(f"{target} already has {names}; pass --force to overwrite them, or export into another folder.")
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, target / path.name)
    return [target / p.name for p in files]
