"""Helpers shared by the benchmarks: where the real data lives, provenance, and result records."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
from pathlib import Path

import torch

from networks.cpu_features import cpu_has_bfloat16_units

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def shared_data() -> Path:
    """The real standard sets: ./data (a link users make) or the workspace's ../shared/data."""
    for candidate in (REPO / "data", REPO.parent / "shared" / "data"):
        if (candidate / "BSD68").is_dir():
            return candidate
    raise FileNotFoundError("No data folder with BSD68/: link your copy of the standard sets to ./data")


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA")  # an ISA cap emulates a CPU with fewer vector units
    isa = torch.backends.cpu.get_cpu_capability() + (f", oneDNN capped at {limit}" if limit else "")
    return f"cpu ({cpu_model()}, {isa}, {torch.get_num_threads()} threads)"


def cpu_model() -> str:
    """The processor's name (e.g. AMD EPYC) and whether it computes bfloat16 natively: machines of one
    kind differ (AVX2 or AVX-512), and the fast paths of this project depend on it."""
    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"{name}, bfloat16 units: {'yes' if cpu_has_bfloat16_units() else 'no'}"


def append_records(name: str | Path, records: list[dict]) -> Path:
    """Add records to ``benchmarks/results/<name>.json`` (a JSON list), or to ``name`` itself when it is a
    path ending in ``.json``; written after every call."""
    path = Path(name) if str(name).endswith(".json") else RESULTS / f"{name}.json"
    existing = json.loads(path.read_text()) if path.exists() else []
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(existing + records, indent=2) + "\n")
    return path


def network_name(network: torch.nn.Module) -> str:
    """The network's class, and 'standardised' when it runs inside ``networks.Standardized``."""
    from networks import Standardized

    if isinstance(network, Standardized):
        return f"{type(network.network).__name__}, standardised"
    return type(network).__name__


# the length arguments of the step-length schedules the experiments use: RampedCosineLR, CosineAnnealingLR
SCHEDULE_LENGTH_ARGUMENTS = ("total_steps", "T_max")


def schedule_length_arguments(experiment: str, steps: int) -> list[str]:
    """``train.py`` options that stretch the learning-rate schedule of ``configs/experiments/<experiment>.yaml``
    (stacks expanded) to exactly ``steps``, when it is stepped per step and its length is one of
    ``SCHEDULE_LENGTH_ARGUMENTS``; none otherwise (epoch schedules and milestones keep their own)."""
    from config_stack import stacked_content

    model = stacked_content(REPO / "configs" / "experiments" / f"{experiment}.yaml").get("model", {})
    model = model.get("init_args", {})
    if model.get("scheduler_interval") != "step":
        return []
    scheduler = (model.get("lr_scheduler") or {}).get("init_args", {})
    return [arg for key in SCHEDULE_LENGTH_ARGUMENTS if key in scheduler
            for arg in (f"--model.init_args.lr_scheduler.init_args.{key}", str(steps))]  # fmt: skip
