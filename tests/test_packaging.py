"""Every third-party package the code imports is declared, in pyproject.toml (ranges for users) and in
requirements.txt (the tested pins)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("core", "noise", "networks", "zero_shot", "classical", "datamodules", "lightning_modules", "callbacks")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_names() -> set[str]:
    files = [*(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py")), *ROOT.glob("*.py")]
    names = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    local = {p.name for p in ROOT.iterdir() if p.is_dir()} | {p.stem for p in ROOT.glob("*.py")}
    return {n for n in names if n not in local and n not in sys.stdlib_module_names and n != "__future__"}


def test_every_imported_package_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_normal(re.split(r"[<>=!~\[; ]", spec)[0]) for spec in project["dependencies"]}
    pinned = {
        _normal(re.split(r"[<>=!~\[; ]", line)[0])
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }
    owners = packages_distributions()
    imported = _imported_top_names()
    assert {"torch", "pytorch_lightning", "yaml", "cv2", "tqdm"} <= imported  # the scan sees the imports
    missing = {}
    for name in sorted(imported):
        distributions = {_normal(d) for d in owners.get(name, [name])}
        if not distributions & declared or not distributions & pinned:
            missing[name] = sorted(distributions)
    assert not missing, f"imported but not declared in pyproject.toml and requirements.txt: {missing}"
