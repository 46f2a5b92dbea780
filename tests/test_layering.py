"""The project's packages depend on each other in one direction (README, "Layout"): the maths in
``core`` needs neither Lightning nor any other package of the project, and the per-image tools
(``zero_shot``, ``classical``) run without Lightning."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "noise", "networks", "zero_shot", "classical", "datamodules", "lightning_modules", "callbacks")
TOP_MODULES = ("cli", "train", "denoise", "export")

# what each package may import from the project (itself included); anything else is an upward arrow
ALLOWED = {
    "core": {"core"},
    "noise": {"noise", "core"},
    "networks": {"networks", "core"},
    "zero_shot": {"zero_shot", "core", "networks", "noise"},
    "classical": {"classical", "core", "noise"},
    "datamodules": {"datamodules", "core", "noise"},
    "lightning_modules": {"lightning_modules", "core", "networks", "noise", "callbacks"},
    "callbacks": {"callbacks", "core", "networks"},
}


def project_imports(path: Path) -> set[tuple[str, int]]:
    """(top-level project name, line) of every import in the file, at any depth (function-level too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES or top in TOP_MODULES:
                found.add((top, node.lineno))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_run_one_way(package: str) -> None:
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name, line in sorted(project_imports(path))
        if name not in ALLOWED[package]
    ]
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_core_and_per_image_tools_load_without_lightning() -> None:
    modules = [
        f"{package}.{path.stem}"
        for package in ("core", "noise", "networks", "zero_shot", "classical")
        for path in sorted((ROOT / package).glob("*.py"))
        if path.stem != "__init__"
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pytorch_lightning', 'lightning', 'lightning_modules', 'datamodules', 'jsonargparse', 'wandb')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
    assert len(modules) > 25  # the walk found the modules it was meant to import
