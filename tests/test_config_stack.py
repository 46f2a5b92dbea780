"""Experiment configs stack shared partials (``stack:``) instead of copying them."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from cli import DenoisingCLI
from config_stack import expand_stacks

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))
REPEAT = 6  # lines


def _parsed(*args: str) -> dict:
    config = DenoisingCLI(list(args), run=False).config.as_dict()
    config.pop("config", None)  # the -c arguments themselves differ
    return config


def test_a_stacked_config_parses_as_its_layers_given_one_by_one(tmp_path: Path):
    own_keys = (
        "trainer: {max_epochs: 3}\nmodel:\n  init_args:\n    mc_samples: 7\n    network: {init_args: {depth: 5}}\n"
    )
    data, method = REPO / "configs/data/samples.yaml", REPO / "configs/method/r2r.yaml"
    delta, plain = tmp_path / "delta.yaml", tmp_path / "plain.yaml"
    delta.write_text(f"stack: [{data}, {method}]\n{own_keys}")
    plain.write_text(own_keys)
    stacked = _parsed("-c", str(delta))
    explicit = _parsed("-c", str(data), "-c", str(method), "-c", str(plain))
    assert stacked == explicit
    assert stacked["model"]["init_args"]["mc_samples"] == 7 and stacked["trainer"]["max_epochs"] == 3
    network = stacked["model"]["init_args"]["network"]["init_args"]
    assert network["depth"] == 5 and network["width"] == 64  # the delta's depth over the partial's DnCNN


def test_stack_errors_name_the_file(tmp_path: Path):
    missing = tmp_path / "missing.yaml"
    missing.write_text("stack: [nowhere.yaml]\n")
    with pytest.raises(FileNotFoundError, match="nowhere.yaml"):
        expand_stacks(["fit", "-c", str(missing)])
    loop_a, loop_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    loop_a.write_text("stack: [b.yaml]\n")
    loop_b.write_text("stack: [a.yaml]\n")
    with pytest.raises(ValueError, match="loop"):
        expand_stacks(["-c", str(loop_a)])
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("stack: {data: x}\n")
    with pytest.raises(ValueError, match="list of config paths"):
        expand_stacks([f"--config={wrong}"])


def test_no_block_of_lines_is_repeated_across_configs():
    """Six or more consecutive lines that set values, appearing in two places, would be a copied block
    (comments and bare keys such as ``model:`` or ``init_args:`` are structure, not content)."""
    seen: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for path in CONFIGS:
        lines = [line.split(" #")[0].rstrip() for line in path.read_text().splitlines()]
        lines = [line for line in lines if line and not line.lstrip().startswith("#") and not line.endswith(":")]
        for start in range(len(lines) - REPEAT + 1):
            seen[tuple(lines[start : start + REPEAT])].append(f"{path.relative_to(REPO)}:{start}")
    copied = {block: places for block, places in seen.items() if len(places) > 1}
    assert not copied, "\n\n".join("\n".join(block) + "\n  in " + ", ".join(places) for block, places in copied.items())
