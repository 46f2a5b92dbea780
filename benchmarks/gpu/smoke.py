"""Every method for a few steps on the GPU through train.py with configs/trainer/gpu.yaml (without
torch.compile, which benchmarks.throughput and the recipes exercise), then a count of the host syncs
inside training steps (``torch.cuda.set_sync_debug_mode``).

    python -m benchmarks.gpu.smoke --root data --output gpu_smoke.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch

from benchmarks.common import REPO, commit, device_name

EXPERIMENTS = ("supervised", "n2n", "n2s", "n2v", "laine", "r2r", "ne2ne", "zsn2n")


class SyncCounter(pl.Callback):
    """Counts CUDA host syncs (warnings of the sync debug mode) from step ``start`` on."""

    def __init__(self, start: int = 5) -> None:
        self.start, self.steps, self.syncs = start, 0, 0
        self._catcher = None
        self._caught: list = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.start and torch.cuda.is_available():
            self._catcher = warnings.catch_warnings(record=True)
            self._caught = self._catcher.__enter__()
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._catcher is not None:
            self.steps += 1
            if trainer.global_step == trainer.max_steps:  # the end of training saves checkpoints: not a step
                self._stop()

    def _stop(self) -> None:
        if self._catcher is not None:
            torch.cuda.set_sync_debug_mode(0)
            self._catcher.__exit__(None, None, None)
            self.syncs = sum("synchroniz" in str(w.message) for w in self._caught)
            self.places = sorted({f"{w.filename.split('site-packages/')[-1]}:{w.lineno}" for w in self._caught})
            self._catcher = None


def fit(config: str, root: Path, data: str, extra: list[str], callbacks: list[pl.Callback] = ()):
    from cli import DenoisingCLI

    class CLI(DenoisingCLI):
        def instantiate_trainer(self, **kwargs):
            trainer = super().instantiate_trainer(**kwargs)
            trainer.callbacks.extend(callbacks)
            return trainer

    args = [
        "fit", "-c", str(REPO / "configs" / "experiments" / f"{config}.yaml"),
        "-c", str(REPO / "configs" / "trainer" / "gpu.yaml"),
        "--data.init_args.root", data, "--data.init_args.num_workers", "2",
        "--trainer.logger", "false", "--trainer.default_root_dir", str(root), "--trainer.enable_progress_bar", "false",
        *extra,
    ]  # fmt: skip
    return CLI(args=args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="data")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path("gpu_smoke.json"))
    args = parser.parse_args()
    accelerator = [] if torch.cuda.is_available() else ["--trainer.accelerator", "cpu", "--trainer.precision", "32"]
    records: list[dict] = []
    payload = {"device": device_name(), "commit": commit(), "torch": torch.__version__, "smoke": records}
    for method in EXPERIMENTS:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as root:
            try:
                extra = ["--trainer.fast_dev_run", str(args.steps), "--model.init_args.compile_network", "false"]
                cli = fit(f"{method}_bsd68", Path(root), args.root, [*extra, *accelerator])
                status = "ok" if cli.trainer.state.finished else "unfinished"
                steps = cli.trainer.global_step
            except Exception:  # record and go on: the smoke test is a table of every method
                status, steps = traceback.format_exc(limit=3), 0
        seconds = time.perf_counter() - start
        records.append({"method": method, "config": f"{method}_bsd68 + gpu.yaml", "status": status, "steps": steps,
                        "seconds": round(seconds, 2)})  # fmt: skip
        print(f"smoke {method}: {status.splitlines()[-1]} ({steps} steps, {seconds:.1f} s)", flush=True)
        args.output.write_text(json.dumps(payload, indent=2) + "\n")  # kept as it grows
    counter = SyncCounter(start=5)
    with tempfile.TemporaryDirectory() as root:
        extra = ["--trainer.max_steps", "25", "--trainer.limit_val_batches", "0", "--model.init_args.compile_network",
                 "false", "--trainer.enable_checkpointing", "true", *accelerator]  # fmt: skip
        fit("r2r_bsd68", Path(root), args.root, extra, [counter])
    sync = {"method": "r2r", "check": "host syncs in training steps 5-25 (torch.cuda sync debug mode)",
            "steps": counter.steps, "syncs": counter.syncs, "where": getattr(counter, "places", [])}  # fmt: skip
    print("syncs:", sync, flush=True)
    payload["sync_check"] = sync
    args.output.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
