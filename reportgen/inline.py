"""Files inlined into the self-contained HTML (and the PDF made from it) as data: URIs."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def file_uri(path: Path) -> str:
    """A file as a data: URI, its type guessed from the name."""
    mime = "image/svg+xml" if path.suffix.lower() == ".svg" else mimetypes.guess_type(path.name)[0]
    return data_uri(path.read_bytes(), mime or "application/octet-stream")
