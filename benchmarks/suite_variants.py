"""One setting of a suite row changed at a time, at the suite's budget (``benchmarks.suite``: Train400 ->
BSD68 sigma 25, fixed noise, 200 steps x batch 16 x 48x48, last weights, all 68 test images), to
measure what a difference from a peer library costs, and how far a row moves between two training
seeds on the same noisy training images.

    python -m benchmarks.suite_variants                      # every variant, one after the other
    python -m benchmarks.suite_variants r2r_no_bn r2r_seed1  # some of them
    python -m benchmarks.suite_variants --quick --data D --out O.json  # the code path on tiny data

The peer rows of the suite (``--peers``) differ from this project's rows in a few named settings
(``benchmarks/peers``): DeepInverse's DnCNN has no batch normalisation (the R2R paper's code has it) and
He initialisation (``networks.DnCNN(init="kaiming")``; the official R2R code's also has it);
CAREamics replaces a masked pixel from an 11x11 window (the Noise2Void paper and its BSD68 notebook: 5x5)
and upsamples bilinearly in its U-Net (CSBDeep: nearest);
DeepInverse's U-Net uses ReLU (the official Neighbor2Neighbor U-Net, as this project's: LeakyReLU 0.1).
Each variant here is the suite row's ``train.py fit`` with the overrides listed. The ``*_seed1`` variants
change only ``seed_everything`` (network initialisation, masks, recorruptions): the noisy training
images, the crops and the test images stay those of the suite row, so the difference between a row
and its seed-1 run is the spread a single run carries. The ``*_data_seed*`` variants change only the
data module's seed (the fixed noisy training images, the crops and orientations; not the test images):
the spread that comes from which noisy images and crops a run happens to get. Each record keeps the
suite row's PSNR and commit as they stood when it ran (``row_psnr``, ``row_commit``). Appends to
benchmarks/results/suite_variants.json.

The U-Net variants of Noise2Void (``noise2void_symmetric_leaky``: this project's earlier network;
``noise2void_residual``: the N2V notebook's ``unet_residual=True``) wrote
benchmarks/results/n2v_network.json, from this script's predecessor ``benchmarks.n2v_network``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.common import REPO, RESULTS, append_records, commit, device_name, shared_data
from benchmarks.suite import (
    FULL,
    N2S_DNCNN,
    NE2NE_UNET,
    NETWORK,
    QUICK,
    STANDARDISED_NETWORK,
    ZSN2N_NET,
    Suite,
    chosen_names,
    mask_fraction,
    read_table,
)

SEED1 = ["--seed_everything", "1"]
DATA_SEED = "--data.init_args.seed"  # the fixed noisy training images, crops and orientations
DEVICE_BATCHES = ["--data.init_args.batches_on_device", "true"]
DEVICE_BATCHES_WHAT = (
    "batches made on the training device (datamodules/device_batches.py: the same fixed noisy "
    "images, crops and orientations drawn by another generator) instead of the per-sample "
    "DataLoader: what the data path costs per step"
)
DNCNN = "--model.init_args.network.init_args."
N2V_NET = "--model.init_args.network.init_args.network.init_args."
BF16 = ["--trainer.precision", "bf16-mixed"]
BF16_WHAT = "bf16-mixed autocast in training and test (float32 weights and optimizer)"
NE2NE_UNET_RELU = NE2NE_UNET.replace("}}", ', "activation": "relu"}}')

# name: (suite row, overrides of its train.py fit, what differs from the suite row)
VARIANTS = {
    "r2r_seed1": ("r2r", SEED1, "training seed 1"),
    "r2r_no_bn": ("r2r", [DNCNN + "batch_norm", "false", DNCNN + "init", "default", DNCNN + "bias", "true"],
                  "DnCNN without batch normalisation, PyTorch's init"),
    "r2r_no_bn_kaiming": ("r2r", [DNCNN + "batch_norm", "false", DNCNN + "init", "kaiming", DNCNN + "bias", "true"],
                          "DnCNN without batch normalisation, He init (DeepInverse's DnCNN)"),
    "r2r_official_init": ("r2r", [DNCNN + "init", "kaiming", DNCNN + "bias", "false"],
                          "He init, batch-norm scales near 0, no conv biases (the official R2R code's DnCNN; "
                          "the R2R config since 40954e3)"),
    "r2r_default_init": ("r2r", [DNCNN + "init", "default", DNCNN + "bias", "true"],
                         "PyTorch's default init, conv biases (the R2R config before 40954e3)"),
    "noise2void_seed1": ("noise2void", SEED1, "training seed 1"),
    "noise2void_radius5": ("noise2void", ["--model.init_args.radius", "5"],
                           "replacement from the 11x11 window (CAREamics' N2V manipulation)"),
    "noise2void_bilinear": ("noise2void", [N2V_NET + "upsampling", "bilinear"],
                            "bilinear upsampling in the U-Net (CAREamics' UNet; the official N2V code: nearest)"),
    "noise2void_symmetric_leaky": ("noise2void",
                                   [N2V_NET + "layout", "symmetric", N2V_NET + "activation", "leaky_relu"],
                                   "this project's earlier symmetric U-Net with LeakyReLU"),
    "noise2void_residual": ("noise2void", [N2V_NET + "residual", "true"],
                            "the residual skip of the N2V BSD68 notebook (unet_residual=True)"),
    "r2r_device_batches": ("r2r", DEVICE_BATCHES, DEVICE_BATCHES_WHAT),
    "noise2void_device_batches": ("noise2void", DEVICE_BATCHES, DEVICE_BATCHES_WHAT),
    "noise2void_device_batches_seed1": ("noise2void", DEVICE_BATCHES + SEED1, "device-made batches, training seed 1"),
    "noise2void_data_seed1": ("noise2void", [DATA_SEED, "1"], "data seed 1: other noisy training images and crops"),
    "noise2void_data_seed2": ("noise2void", [DATA_SEED, "2"], "data seed 2: other noisy training images and crops"),
    "noise2void_device_batches_data_seed1": ("noise2void", [*DEVICE_BATCHES, DATA_SEED, "1"],
                                             "device-made batches, data seed 1"),
    "noise2void_device_batches_data_seed2": ("noise2void", [*DEVICE_BATCHES, DATA_SEED, "2"],
                                             "device-made batches, data seed 2"),
    "neighbor2neighbor_seed1": ("neighbor2neighbor", SEED1, "training seed 1"),
    "neighbor2neighbor_relu": ("neighbor2neighbor", [NETWORK, NE2NE_UNET_RELU],
                               "ReLU in the paper's U-Net (DeepInverse's UNet; the official Neighbor2Neighbor U-Net: "
                               "LeakyReLU 0.1)"),
    "neighbor2neighbor_paper_unet": ("neighbor2neighbor", [NETWORK, NE2NE_UNET],
                                     "ne2ne_bsd68.yaml's U-Net (the paper's: depth 4, width 48, not standardised)"),
    "zsn2n_dataset_paper_network": ("zsn2n_dataset", [NETWORK, ZSN2N_NET],
                                    "ZS-N2N's two-layer network (zsn2n_bsd68.yaml's, the paper's)"),
    "noise2self_dncnn": ("noise2self", [STANDARDISED_NETWORK, N2S_DNCNN],
                         "n2s_bsd68.yaml's non-residual DnCNN-17 (the row before it took the U-Net)"),
    "noise2void_mask_1.5pct": ("noise2void", mask_fraction(0.015),
                               "1.5% of the pixels masked per patch (the n2v package's N2VConfig default; "
                               "its BSD68 notebook: 0.198%, the row's setting until 1cb5eda)"),
    # bfloat16 autocast on a CPU (float32 weights and optimizer): what it saves in seconds and costs in PSNR
    # where the processor has bfloat16 units; elsewhere it is emulated and slower (the module warns)
    **{f"{row}_bf16": (row, BF16, BF16_WHAT) for row in ("r2r", "noise2self", "noise2void", "neighbor2neighbor")},
}  # fmt: skip
# A peer's suite row on another data seed (its inputs are the fixed noisy training images of that seed, the
# test images stay the suite's, and its script takes the same seed for its own draws) or with more options of
# its script. name: (peer row, data seed, script options, what differs)
PEER_VARIANTS = {
    "careamics_n2v_data_seed1": ("careamics_n2v", 1, (), "the peer row on data seed 1"),
    "careamics_n2v_data_seed2": ("careamics_n2v", 2, (), "the peer row on data seed 2"),
    "deepinv_ne2ne_lr_1e-3": (
        "deepinv_ne2ne",
        0,
        ("--lr", "0.001"),
        "the peer row at Adam lr 1e-3, our row's (the peer row: the paper's 3e-4)",
    ),
}


def suite_rows(path: Path, budget: dict, log) -> dict[str, dict]:
    """The suite's recorded rows by name, if ``path`` was written at this budget; else none, and ``log`` says
    why the variants' records will lack the figure of the row they depart from."""
    if not path.exists():
        log(f"no suite table at {path}: the variants are recorded without their rows' figures")
        return {}
    records, written = read_table(path, budget)
    if records is None:
        log(f"{path} was written at another budget ({(written or {}).get('budget')}): the variants are "
            "recorded without their rows' figures")  # fmt: skip
        return {}
    return {r["row"]: r for r in records}


def run_variant(suite: Suite, row: str, overrides: list[str], name: str) -> dict:
    """The suite row ``row`` trained and tested with ``overrides``; its record (not yet written)."""
    from benchmarks.suite import DATASET_LEVEL

    experiment, extra, draws, _ = DATASET_LEVEL[row]
    cli, _, fields = suite.train_and_test(row, experiment, draws, extra + overrides, suite.runs / name)
    parameters = sum(p.numel() for p in cli.model.network.parameters())
    return {"variant": name, "row": row, "overrides": " ".join(overrides), "parameters": parameters, **fields}


def run_peer_variant(suite: Suite, peer_row: str, seed: int, options: tuple[str, ...], name: str) -> dict:
    """The peer's suite row trained on the fixed noisy images of data seed ``seed``, its script given
    ``options`` too; its record."""
    from benchmarks.peers.rows import PEERS, peer_record, run_peer, write_suite_inputs
    from benchmarks.suite import SIGMA

    peer = PEERS[peer_row]
    test = suite.test_data().datasets["test"]
    inputs = suite.runs / name / "inputs.npz"
    write_suite_inputs(inputs, suite.data_root, test, SIGMA, seed=seed)
    script = ("--seed", str(seed), *options)
    result = run_peer(peer, inputs, suite.runs / name / "outputs.npz", suite.budget, suite.log, script)
    record = peer_record(peer, result, [test[i]["clean"] for i in range(len(test))], None)
    return {"variant": name, **record, "overrides": f"data seed {seed} (inputs), {' '.join(script)} (script)"}


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; no variant named: every one of ``VARIANTS`` (the peer variants only by name)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = [*VARIANTS, *PEER_VARIANTS]
    parser.add_argument("variants", nargs="*", metavar="VARIANT", help=f"default: every variant; of {', '.join(names)}")
    parser.add_argument("--quick", action="store_true", help="the suite's tiny budget: checks the code path")
    parser.add_argument("--data", type=Path, help="folder with Train400/, BSD68/ (default ./data or ../shared/data)")
    parser.add_argument("--out", type=Path, default=RESULTS / "suite_variants.json", help="results JSON (appended)")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "suite_variants", help="training folders")
    args = parser.parse_args(argv)
    args.variants = chosen_names(parser, args.variants, names, list(VARIANTS), "variant")
    return args


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    runs = args.runs
    suite = Suite(dict(QUICK if args.quick else FULL), args.data or shared_data(), runs / "unused.json", None, runs)
    rows = suite_rows(RESULTS / "suite_cpu.json", suite.budget, suite.log)
    started_at = commit()  # the code this run imported, whatever is committed while it runs
    for name in args.variants:
        if name in PEER_VARIANTS:
            row, seed, options, what = PEER_VARIANTS[name]
            suite.log(f"variant {name}: {what}")
            record = run_peer_variant(suite, row, seed, options, name)
        else:
            row, overrides, what = VARIANTS[name]
            suite.log(f"variant {name}: {what}")
            record = run_variant(suite, row, overrides, name)
        if row in rows:  # the suite row it departs from, as recorded when the variant ran
            record.update(row_psnr=rows[row]["psnr"], row_commit=rows[row]["commit"])
        record.update(what=what, device=device_name(), commit=started_at,
                      command="python -m benchmarks.suite_variants " + " ".join(sys.argv[1:]))  # fmt: skip
        append_records(args.out, [record])
        print(record, flush=True)


if __name__ == "__main__":
    main()
