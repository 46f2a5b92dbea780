"""Noise2Void's U-Net variants side by side at the suite's budget (``benchmarks.suite``: Train400 ->
BSD68 sigma 25, fixed noise, 200 steps x batch 16 x 48x48, last weights, all 68 test images).

    python -m benchmarks.n2v_network                 # all variants, one after the other
    python -m benchmarks.n2v_network csbdeep_relu    # some of them

Variants of ``configs/experiments/n2v_bsd68.yaml``'s network: this project's earlier symmetric U-Net
with LeakyReLU, the official code's CSBDeep layout with ReLU, and the same with the residual skip of
the N2V BSD68 notebook (``unet_residual=True``). Appends to benchmarks/results/n2v_network.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from benchmarks.common import REPO, append_records, commit, device_name, shared_data
from benchmarks.suite import FULL, Suite, fit_arguments

NET = "--model.init_args.network.init_args.network.init_args."
VARIANTS = {
    "symmetric_leaky": [NET + "layout", "symmetric", NET + "activation", "leaky_relu"],
    "csbdeep_relu": [NET + "layout", "csbdeep", NET + "activation", "relu"],
    "csbdeep_relu_residual": [NET + "layout", "csbdeep", NET + "activation", "relu", NET + "residual", "true"],
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args(argv)
    from cli import main as cli_main

    runs = REPO / "runs" / "n2v_network"
    suite = Suite(dict(FULL), shared_data(), runs / "unused.json", None, runs)
    b = FULL
    for name in args.variants:
        root = runs / name
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        args = fit_arguments("n2v_bsd68", suite.data_root, "fixed", b["batch"], b["patch"], b["steps"], root,
                             VARIANTS[name])  # fmt: skip
        cli = cli_main(args)
        train_seconds = time.perf_counter() - started
        data = suite.test_data()
        started = time.perf_counter()
        metrics = cli.trainer.test(cli.model, datamodule=data, verbose=False)[0]
        record = {
            "variant": name, "psnr": round(metrics["test/psnr"], 3), "ssim": round(metrics["test/ssim"], 4),
            "parameters": sum(p.numel() for p in cli.model.network.parameters()),
            "steps": cli.trainer.global_step, "batch": b["batch"], "patch": b["patch"],
            "train_seconds": round(train_seconds, 1),
            "inference_seconds_per_image": round((time.perf_counter() - started) / len(data.datasets["test"]), 2),
            "images": len(data.datasets["test"]), "device": device_name(), "commit": commit(),
            "command": "python -m benchmarks.n2v_network " + " ".join(sys.argv[1:]),
        }  # fmt: skip
        append_records("n2v_network", [record])
        print(record, flush=True)


if __name__ == "__main__":
    main()
