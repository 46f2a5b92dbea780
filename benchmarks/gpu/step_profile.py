"""Where a training step's time goes on a GPU: ``torch.profiler`` over steps of ``train.py fit`` and of
the plain loop of ``benchmarks.throughput`` (same network, batch, precision, compilation), after a
warm-up. Prints, per variant, the wall time per step, the device's busy time per step (sum of kernel
times) and the top operators by host and by device time, so a host-bound step (device idle between
kernels) is told from a device-bound one.

    python -m benchmarks.gpu.step_profile --images data/Train400 --output gpu_step_profile.txt
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks import throughput


def summarize(name: str, prof, steps: int, seconds: float) -> str:
    events = prof.key_averages()
    device_us = sum(e.self_device_time_total for e in events if e.device_type == torch.autograd.DeviceType.CUDA)
    out = io.StringIO()
    wall, busy = seconds / steps * 1e3, device_us / steps / 1e3
    out.write(f"== {name}: {wall:.2f} ms/step wall, device busy {busy:.2f} ms/step\n")
    out.write(events.table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=60))
    out.write(events.table(sort_by="self_device_time_total", row_limit=12, max_name_column_width=60))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=Path, default=None)
    parser.add_argument("--network", default="dncnn")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--output", type=Path, default=Path("gpu_step_profile.txt"))
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    options = argparse.Namespace(
        device=device, network=args.network, batch=128, patch=40, steps=args.steps, warmup=15, workers=0,
        precision="bf16-mixed" if device == "cuda" else "32-true", channels_last=True, compile=device == "cuda",
        images=args.images,
    )  # fmt: skip
    folder = throughput.training_images(args.images, 400, 180)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    report = []
    for name, run in (("plain", throughput.run_plain), ("train_py", throughput.run_train_py)):
        holder: dict = {}

        @contextlib.contextmanager
        def window(holder=holder):
            with profile(activities=activities) as prof:
                start = time.perf_counter()
                yield
                throughput.synchronize(device)
                holder["seconds"] = time.perf_counter() - start
            holder["prof"] = prof

        throughput.PROFILE_WINDOW = window
        rate = run(options, folder) if name == "plain" else run(options, folder, True)
        throughput.PROFILE_WINDOW = None
        summary = summarize(name, holder["prof"], args.steps, holder["seconds"])
        report.append(f"{name}: {rate:.0f} samples/s\n" + summary)
        print(report[-1].splitlines()[0], report[-1].splitlines()[1], flush=True)
    args.output.write_text("\n".join(report))


if __name__ == "__main__":
    main()
