"""Real camera noise: the 25 Nam et al. (2016) pairs (the CBDNet protocol, 512x512 sRGB), every method
trained on the 25 noisy images alone and scored against the clean references, PSNR/SSIM of 8-bit
outputs per image and mean. One command makes every row:

    python benchmarks/real_noise.py --steps 400 --laine-steps 200 --patch 80 --zsn2n-iterations 100

Rows: the noisy input; BM3D (``bm3d`` package, colour) at the noise level each image's own estimate
gives (``noise.correlation.estimate_correlated_sigma``), and as a reference at the std of each image's true
residual (``bm3d_true_sigma``, which reads the clean image); ZS-N2N per image; Noise2Void with and without
pixel-shuffle downsampling (PD); Noise2Self and the Laine network with and without PD; R2R with the
heteroscedastic noise model estimated per image, and R2R recorrupting with the noise's own spatial and
channel covariance (``r2r_correlated``: the covariance in ``r2r_nam_correlated.yaml`` is the one
``python -m noise.covariance`` estimates from the 25 noisy images). The experiments are
``configs/experiments/*_nam*.yaml`` with ``--steps`` training steps. A first stage compares the
noise-level estimators with the true residual (noisy - clean) standard deviation. Records go to
benchmarks/results/real_noise.json as they come (one list: ``stage`` "noise_level", "correlation" or
"denoise"). ``--pairs DIR`` runs the rows on another folder in the same layout
(``benchmarks.correlated_noise_pairs`` makes synthetic ones), training in
``runs/real_noise_<DIR name>_<row>``.
"""

from __future__ import annotations

import argparse
import csv
import functools
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import (
    append_records,
    commit,
    device_name,
    network_name,
    schedule_length_arguments,
    shared_data,
)
from core.image_io import read_image
from core.metrics import per_image_psnr, per_image_ssim, quantize_8bit
from core.pixel_shuffle import pd_split
from noise.correlation import estimate_correlated_sigma, estimate_correlation
from noise.estimation import estimate_heteroscedastic, estimate_sigma

RESULTS = "real_noise"
# (row label, experiment, extra overrides): the PD rows use each experiment's strides (5 training,
# 2 inference; R3 off, as their inference reads the pixel it denoises); the rows without PD switch all off
NO_PD = ["--model.init_args.pd_stride", "1", "--model.init_args.pd_stride_inference", "1",
         "--model.init_args.r3_passes", "0"]  # fmt: skip
TRAINED = {
    "n2v_pd": ("n2v_nam", []),
    "n2v": ("n2v_nam", NO_PD),
    "n2s_pd": ("n2s_nam", []),
    "n2s": ("n2s_nam", NO_PD),
    "laine_pd": ("laine_nam", []),
    "laine": ("laine_nam", NO_PD),
    "r2r": ("r2r_nam", ["--model.init_args.inference", "mc", "--model.init_args.mc_samples", "8"]),
    "r2r_correlated": ("r2r_nam_correlated", []),
}
ROWS = ("noisy", "bm3d", "bm3d_true_sigma", *TRAINED, "zsn2n")
PD_STRIDE_FOR_ESTIMATE = 8


@functools.cache
def run_commit() -> str:
    """The commit the run started from (read at its start), whatever is committed while it runs."""
    return commit()


def load_pairs(root: Path, count: int) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(scene, noisy, clean) as [3, H, W] float tensors in [0, 1], the first ``count`` scenes."""
    pairs = []
    for noisy_path in sorted((root / "noisy").glob("*_noise.png"))[:count]:
        scene = noisy_path.name.split("_")[0]
        noisy, clean = (read_image(p, channels=3) for p in (noisy_path, root / "clean" / f"{scene}_gt.png"))
        pairs.append((scene, *(torch.from_numpy(a).permute(2, 0, 1).float() for a in (noisy, clean))))
    return pairs


def scores(denoised: torch.Tensor, clean: torch.Tensor) -> tuple[float, float]:
    """PSNR/SSIM of the 8-bit quantised output (the SIDD/CBDNet protocol), data range 1."""
    output = quantize_8bit(denoised.clamp(0, 1))[None]
    return float(per_image_psnr(output, clean[None])[0]), float(per_image_ssim(output, clean[None])[0])


def base_record(row: str, **fields) -> dict:
    return {"stage": "denoise", "row": row, "dataset": "nam25", **fields, "device": device_name(),
            "commit": run_commit(), "command": "python " + " ".join(sys.argv)}  # fmt: skip


def per_image_record(row: str, results: list[tuple[str, float, float]], seconds: float, **fields) -> dict:
    psnrs, ssims = [r[1] for r in results], [r[2] for r in results]
    record = base_record(
        row, psnr=round(float(np.mean(psnrs)), 3), ssim=round(float(np.mean(ssims)), 4), images=len(results),
        per_image={scene: [round(p, 3), round(s, 4)] for scene, p, s in results}, **fields,
    )  # fmt: skip
    record["seconds"] = round(seconds, 1)
    print(f"{row:10s} PSNR {record['psnr']:.2f} dB  SSIM {record['ssim']:.4f}  {seconds:.0f} s", flush=True)
    return record


def noise_level_stage(pairs) -> list[dict]:
    """Each estimator against the true residual std (all on the 8-bit scale)."""
    rows = []
    for scene, noisy, clean in pairs:
        sub_images = pd_split(noisy[None].double(), PD_STRIDE_FOR_ESTIMATE)
        beta1, beta2 = estimate_heteroscedastic(noisy)
        rows.append({
            "scene": scene,
            "true": float((noisy - clean).std()),
            "estimate_sigma": estimate_sigma(noisy),
            f"estimate_sigma_after_pd{PD_STRIDE_FOR_ESTIMATE}": float(np.median([estimate_sigma(s) for s in sub_images])),  # noqa: E501
            "heteroscedastic_at_mean": max(0.0, beta1 * float(noisy.mean()) + beta2) ** 0.5,
            "estimate_correlated_sigma": estimate_correlated_sigma(noisy),
        })  # fmt: skip
    estimators = [key for key in rows[0] if key not in ("scene", "true")]
    record = {"stage": "noise_level", "dataset": "nam25", "scale": "8-bit (x255)"}
    for key in ("true", *estimators):
        record[f"{key}_mean"] = round(255 * float(np.mean([r[key] for r in rows])), 3)
    for key in estimators:
        record[f"{key}_ratio_to_true"] = round(float(np.mean([r[key] / r["true"] for r in rows])), 3)
    record["per_image"] = {r["scene"]: {k: round(255 * v, 3) for k, v in r.items() if k != "scene"} for r in rows}
    print({k: v for k, v in record.items() if k != "per_image"}, flush=True)
    return [{**record, "device": device_name(), "commit": run_commit(), "command": "python " + " ".join(sys.argv)}]


TRUE_LAGS = (1, 2, 3, 4, 6, 8)


def _lag_difference(image: torch.Tensor, lag: int, dim: int) -> torch.Tensor:
    size = image.shape[dim] - lag
    return image.narrow(dim, lag, size) - image.narrow(dim, 0, size)


def correlation_stage(pairs) -> list[dict]:
    """The check's estimate from the noisy images against rho measured on the true residuals."""
    estimate = estimate_correlation([noisy for _, noisy, _ in pairs])
    true = {}
    for name, dim in (("horizontal", 2), ("vertical", 1)):
        rhos = []
        for _, noisy, clean in pairs:
            residual = (noisy - clean).double()
            variance = residual.var()
            rhos.append([float(1 - _lag_difference(residual, lag, dim).pow(2).mean() / (2 * variance))
                         for lag in TRUE_LAGS])  # fmt: skip
        true[name] = [round(float(v), 3) for v in np.mean(rhos, axis=0)]
    record = {
        "stage": "correlation", "dataset": "nam25", "estimated_horizontal": estimate.horizontal,
        "estimated_vertical": estimate.vertical, "correlated": estimate.correlated, "advice": estimate.advice(),
        "true_lags": list(TRUE_LAGS), "true_horizontal": true["horizontal"], "true_vertical": true["vertical"],
        "device": device_name(), "commit": run_commit(), "command": "python " + " ".join(sys.argv),
    }  # fmt: skip
    print({k: v for k, v in record.items() if k not in ("device", "command")}, flush=True)
    return [record]


def noisy_row(pairs) -> dict:
    return per_image_record("noisy", [(scene, *scores(noisy, clean)) for scene, noisy, clean in pairs], 0.0)


def bm3d_row(pairs, oracle: bool = False) -> dict:
    """BM3D at each image's estimated noise level, or (``oracle``) at the std of its true residual
    noisy - clean, which reads the clean image: the level BM3D would be given by one who knew it."""
    import bm3d

    results, started = [], time.perf_counter()
    for scene, noisy, clean in pairs:
        sigma = float((noisy - clean).std()) if oracle else estimate_correlated_sigma(noisy)
        denoised = bm3d.bm3d_rgb(noisy.permute(1, 2, 0).double().numpy(), sigma)
        results.append((scene, *scores(torch.from_numpy(denoised).permute(2, 0, 1).float(), clean)))
    seconds = time.perf_counter() - started
    return per_image_record("bm3d_true_sigma" if oracle else "bm3d", results, seconds,
                            sigma_from="true residual std (oracle)" if oracle else "estimate_correlated_sigma",
                            inference_seconds_per_image=round(seconds / len(pairs), 2))  # fmt: skip


def zsn2n_row(pairs, iterations: int) -> dict:
    from zero_shot.zsn2n import fit

    results, started = [], time.perf_counter()
    for scene, noisy, clean in pairs:
        results.append((scene, *scores(fit(noisy, iterations=iterations, progress=False), clean)))
    seconds = time.perf_counter() - started
    return per_image_record("zsn2n", results, seconds, iterations=iterations,
                            inference_seconds_per_image=round(seconds / len(pairs), 2))  # fmt: skip


def data_overrides(data_root: Path, count: int) -> list[str]:
    """A folder of the first ``count`` pairs (links), so a smaller run trains and tests on those only."""
    if count >= 25:
        return ["--data.init_args.noisy_dir", str(data_root / "noisy"), "--data.init_args.clean_dir",
                str(data_root / "clean")]  # fmt: skip
    subset = Path(f"runs/real_noise_subset_{count}")  # one per count: runs of different counts can overlap
    shutil.rmtree(subset, ignore_errors=True)
    for folder, suffix in (("noisy", "noise"), ("clean", "gt")):
        (subset / folder).mkdir(parents=True)
        for path in sorted((data_root / "noisy").glob("*_noise.png"))[:count]:
            scene = path.name.split("_")[0]
            name = f"{scene}_{suffix}.png"
            (subset / folder / name).symlink_to((data_root / folder / name).resolve())
    return ["--data.init_args.noisy_dir", str(subset / "noisy"), "--data.init_args.clean_dir", str(subset / "clean")]


def fit_row(row: str, data: list[str], steps: int, patch: int | None, more: list[str], root: Path):
    """``train.py fit`` of a trained row's experiment for ``steps`` steps into ``root``; (cli, the row's
    overrides with ``more``, training seconds)."""
    from cli import main

    experiment, extra = TRAINED[row]
    extra = [*extra, *more]
    shutil.rmtree(root, ignore_errors=True)
    patch_args = ["--data.init_args.patch_size", str(patch)] if patch else []
    patch_args += schedule_length_arguments(experiment, steps)  # a step schedule spans exactly the steps
    started = time.perf_counter()
    cli = main(["fit", "-c", f"configs/experiments/{experiment}.yaml", *data, *extra, *patch_args,
                "--trainer.max_epochs", "-1", "--trainer.max_steps", str(steps),
                "--trainer.default_root_dir", str(root), "--trainer.logger", "false",
                "--trainer.enable_progress_bar", "false"])  # fmt: skip
    return cli, extra, time.perf_counter() - started


def checkpoint_scores(cli, root: Path, checkpoint: str | None) -> tuple[list[tuple[str, float, float]], float]:
    """(scene, PSNR, SSIM) of every test pair denoised with ``checkpoint``'s weights (None: the weights
    in memory), and the seconds the test took."""
    for earlier in root.glob("test_results*.csv"):  # the writer picks a new name beside an earlier file
        earlier.unlink()
    started = time.perf_counter()
    cli.trainer.test(cli.model, datamodule=cli.datamodule, ckpt_path=checkpoint, verbose=False)
    return read_test_results(root), time.perf_counter() - started


def read_test_results(root: Path) -> list[tuple[str, float, float]]:
    """(scene, PSNR, SSIM) per test pair from the ``test_results.csv`` a test wrote into ``root``."""
    with (root / "test_results.csv").open() as handle:
        return [(r["image"], float(r["psnr"]), float(r["ssim"])) for r in csv.DictReader(handle)]


def trained_row(row: str, data: list[str], steps: int, patch: int | None, more: list[str], root: Path) -> dict:
    cli, extra, train_seconds = fit_row(row, data, steps, patch, more, root)
    callback = cli.trainer.checkpoint_callback
    # with a monitored metric, the best checkpoint by it; without one (monitor null), the last weights
    checkpoint = (callback.best_model_path or None) if callback is not None and callback.monitor else None
    results, test_seconds = checkpoint_scores(cli, root, checkpoint)
    model = cli.model
    return per_image_record(
        row, results, train_seconds, experiment=TRAINED[row][0], overrides=" ".join(extra),
        steps=cli.trainer.global_step, checkpoint="best val/loss" if checkpoint else "last",
        network=network_name(model.network), patch=cli.datamodule.patch_size, batch=cli.datamodule.batch_size,
        pd_stride=getattr(model, "pd_stride", 1), pd_stride_inference=getattr(model, "pd_stride_inference", 1),
        r3_passes=getattr(model, "r3_passes", 0), train_seconds=round(train_seconds, 1),
        inference_seconds_per_image=round(test_seconds / len(results), 2),
    )  # fmt: skip


def option_pairs(overrides: list[str]) -> list[str]:
    """``KEY=VALUE`` items (``--override``) as train.py arguments ``--KEY VALUE``."""
    return [part for item in overrides for part in ("--" + item.split("=", 1)[0], item.split("=", 1)[1])]


def main_benchmark(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400, help="training steps of every trained method")
    parser.add_argument("--laine-steps", type=int, help="training steps of the Laine rows (default --steps; a step "
                        "of its four-rotation network costs ~4x one of the others)")  # fmt: skip
    parser.add_argument("--zsn2n-iterations", type=int, default=500)
    parser.add_argument("--images", type=int, default=25, help="the first N of the 25 pairs")
    parser.add_argument("--patch", type=int, help="training patch size (default: the experiments' 100)")
    parser.add_argument("--rows", nargs="*", choices=ROWS, default=list(ROWS))
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="a train.py option for every trained row (no leading dashes), e.g. "
                        "model.init_args.network.init_args.residual=true")  # fmt: skip
    parser.add_argument("--skip-estimation", action="store_true", help="no noise-level and correlation stages")
    parser.add_argument("--out", default=RESULTS, help="results name under benchmarks/results/")
    parser.add_argument("--pairs", type=Path, help="another folder in the Nam layout (noisy/<scene>_noise.png, "
                        "clean/<scene>_gt.png), e.g. made by benchmarks.correlated_noise_pairs")  # fmt: skip
    args = parser.parse_args(argv)
    run_commit()
    data_root = args.pairs or shared_data() / "Nam_real_noise"
    if not data_root.is_dir():
        sys.exit(f"no pairs at {data_root}: see ../shared/data/README for where Nam's come from")
    # the records' dataset and the training folders runs/<prefix>_<row> (Nam's: runs/real_noise_<row>)
    dataset = "nam25" if args.pairs is None else data_root.name
    prefix = "real_noise" if args.pairs is None else f"real_noise_{dataset}"
    pairs = load_pairs(data_root, args.images)
    records = []
    stages = [] if args.skip_estimation else [noise_level_stage, correlation_stage]
    for stage in stages:
        records += stage(pairs)
        append_records(args.out, records[-1:])
    data = data_overrides(data_root, args.images)
    for row in args.rows:
        print(f"-- {row}", flush=True)
        if row == "noisy":
            record = noisy_row(pairs)
        elif row in ("bm3d", "bm3d_true_sigma"):
            record = bm3d_row(pairs, oracle=row == "bm3d_true_sigma")
        elif row == "zsn2n":
            record = zsn2n_row(pairs, args.zsn2n_iterations)
        else:
            steps = args.laine_steps if row.startswith("laine") and args.laine_steps else args.steps
            root = Path(f"runs/{prefix}_{row}")
            record = trained_row(row, data, steps, args.patch, option_pairs(args.override), root)
        record["dataset"] = dataset
        records.append(record)
        append_records(args.out, [record])
    return records


if __name__ == "__main__":
    main_benchmark()
