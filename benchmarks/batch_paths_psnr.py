"""Does training on device-made batches denoise as well as the per-sample path? The same experiment
through train.py twice, ``data.batches_on_device`` false then true, same steps, then the test PSNR of
each (the draws differ, so the two runs are two samples of the same training recipe).

    python -m benchmarks.batch_paths_psnr --config configs/experiments/n2n_samples.yaml
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import append_records, commit, device_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="configs/experiments/n2n_samples.yaml")
    parser.add_argument("--output", default="batch_paths_psnr")
    parser.add_argument("extra", nargs="*", help="more train.py options, e.g. --trainer.max_epochs 4")
    args = parser.parse_args()
    from cli import main as train

    record = {"benchmark": "batch_paths_psnr", "config": args.config, "device": device_name(), "commit": commit(),
              "command": "python -m benchmarks.batch_paths_psnr " + " ".join(sys.argv[1:])}  # fmt: skip
    for on_device in (False, True):
        with tempfile.TemporaryDirectory() as root:
            start = time.perf_counter()
            cli = train([
                "fit", "-c", args.config, "--trainer.default_root_dir", root, "--trainer.logger", "false",
                "--trainer.enable_progress_bar", "false", "--data.init_args.batches_on_device", str(on_device).lower(),
                "--test_after_fit", "true", *args.extra,
            ])  # fmt: skip
            seconds = time.perf_counter() - start
            with (Path(root) / "test_results.csv").open() as handle:
                rows = list(csv.DictReader(handle))
        name = "on_device" if on_device else "per_sample"
        record[name] = {
            "steps": cli.trainer.global_step, "seconds": round(seconds, 1), "test_images": len(rows),
            "psnr": round(sum(float(r["psnr"]) for r in rows) / len(rows), 3),
            "noisy_psnr": round(sum(float(r["noisy_psnr"]) for r in rows) / len(rows), 3),
        }  # fmt: skip
        print(name, record[name], flush=True)
    record["psnr_device_minus_per_sample"] = round(record["on_device"]["psnr"] - record["per_sample"]["psnr"], 3)
    append_records(args.output, [record])


if __name__ == "__main__":
    main()
