"""File names for results that never overwrite earlier ones."""

from __future__ import annotations

from pathlib import Path


def unused_path(path: Path) -> Path:
    """``path``, or ``<stem>-1<suffix>``, ``-2``, ... : the first that does not exist yet, so that earlier
    results are never overwritten."""
    candidate, number = path, 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate
