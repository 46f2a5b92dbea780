"""How the suite's choices of network and learning rate were made: each candidate of a suite row trained at the suite's
budget (``benchmarks.suite``: fixed noise, 200 steps x batch 16 x 48x48, last weights) and scored on
Set12, the validation set, never on BSD68, the table's test set.

    python -m benchmarks.suite_selection                       # every candidate
    python -m benchmarks.suite_selection noise2self:shared     # some of them
    python -m benchmarks.suite_selection --quick --data D --out O.json  # the code path on tiny data

A candidate replaces the row's overrides (``DATASET_LEVEL``'s extra) with its own; the rest of
the row (its experiment, noise draws) stays. A record's ``chosen``: the candidate is the suite row's setting
at the commit it ran. Appends to benchmarks/results/suite_selection.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.common import REPO, RESULTS, append_records, device_name, shared_data
from benchmarks.suite import (
    DATASET_LEVEL,
    FIXED_GAMMA,
    N2S_DNCNN,
    N2S_UNET,
    N2V_MASK,
    NE2NE_UNET,
    NETWORK,
    SHARED_NETWORK,
    STANDARDISED_NETWORK,
    UNET,
    ZSN2N_NET,
    Suite,
    add_budget_arguments,
    budget_from,
    chosen_names,
    learning_rate,
    mask_fraction,
)

# "row:candidate": (overrides in place of the row's network overrides, what the network is)
CANDIDATES = {
    "supervised:shared": (SHARED_NETWORK, "the shared U-Net (depth 3, width 32), standardised"),
    "supervised:bare": ([NETWORK, UNET], "the shared U-Net without standardisation (supervised_bsd68.yaml's)"),
    "noise2self:shared": (N2S_UNET, "the shared U-Net (depth 3, width 32), standardised"),
    "noise2self:experiment": ([STANDARDISED_NETWORK, N2S_DNCNN],
                              "n2s_bsd68.yaml's non-residual DnCNN-17, standardised"),
    "neighbor2neighbor:shared": (SHARED_NETWORK + FIXED_GAMMA, "the shared U-Net (depth 3, width 32), standardised"),
    "neighbor2neighbor:bare": ([NETWORK, UNET, *FIXED_GAMMA], "the shared U-Net without standardisation"),
    "neighbor2neighbor:experiment": ([NETWORK, NE2NE_UNET, *FIXED_GAMMA],
                                     "ne2ne_bsd68.yaml's U-Net (the paper's: depth 4, width 48)"),
    "zsn2n_dataset:shared": ([NETWORK, UNET], "the shared U-Net (depth 3, width 32), bare: it outputs the noise"),
    "zsn2n_dataset:standardised": (SHARED_NETWORK, "the shared U-Net, standardised"),
    "zsn2n_dataset:experiment": ([NETWORK, ZSN2N_NET], "zsn2n_bsd68.yaml's two-layer network (the paper's)"),
    # learning rates: the papers' were set for 10^5 steps and more; at 200 steps a larger one may learn faster
    "neighbor2neighbor:lr_1e-3": (SHARED_NETWORK + FIXED_GAMMA + learning_rate(1e-3), "the shared U-Net, Adam lr 1e-3"),
    "neighbor2neighbor:lr_3e-3": (SHARED_NETWORK + FIXED_GAMMA + learning_rate(3e-3), "the shared U-Net, Adam lr 3e-3"),
    "neighbor2neighbor:ramped_gamma": (SHARED_NETWORK, "the shared U-Net, gamma ramped from 0 to 2 (the paper's)"),
    "zsn2n_dataset:lr_3e-3": ([NETWORK, UNET, *learning_rate(3e-3)], "the shared U-Net, bare, Adam lr 3e-3"),
    "zsn2n_dataset:lr_2e-3": ([NETWORK, UNET, *learning_rate(2e-3)], "the shared U-Net, bare, Adam lr 2e-3"),
    "zsn2n_dataset:lr_3e-4": ([NETWORK, UNET, *learning_rate(3e-4)], "the shared U-Net, bare, Adam lr 3e-4"),
    "noise2void:recipe": ([], "n2v_bsd68.yaml's U-Net, Adam lr 4e-4, 0.198% masked (the recipe's)"),
    "noise2void:lr_1e-3": (learning_rate(1e-3), "n2v_bsd68.yaml's U-Net, Adam lr 1e-3"),
    "noise2void:mask_1.5pct": (N2V_MASK,
                               "n2v_bsd68.yaml's U-Net, 1.5% of the pixels masked (the n2v package's default)"),
    "noise2void:mask_1.5pct_lr_1e-3": (N2V_MASK + learning_rate(1e-3),
                                       "n2v_bsd68.yaml's U-Net, 1.5% of the pixels masked, Adam lr 1e-3"),
    "noise2void:mask_5pct": (mask_fraction(0.05), "n2v_bsd68.yaml's U-Net, 5% of the pixels masked"),
    "noise2void:shared": (SHARED_NETWORK + N2V_MASK, "the shared U-Net, standardised, 1.5% masked, Adam lr 4e-4"),
    "noise2void:shared_lr_1e-3": (SHARED_NETWORK + N2V_MASK + learning_rate(1e-3),
                                  "the shared U-Net, standardised, 1.5% masked, Adam lr 1e-3"),
    "supervised:lr_3e-3": (SHARED_NETWORK + learning_rate(3e-3), "the shared U-Net, standardised, Adam lr 3e-3"),
    "supervised:lr_3e-4": (SHARED_NETWORK + learning_rate(3e-4), "the shared U-Net, standardised, Adam lr 3e-4"),
    "noise2noise:shared": (SHARED_NETWORK, "the shared U-Net, standardised, Adam lr 1e-3 (the suite row)"),
    "noise2noise:lr_3e-3": (SHARED_NETWORK + learning_rate(3e-3), "the shared U-Net, standardised, Adam lr 3e-3"),
    "noise2noise:lr_3e-4": (SHARED_NETWORK + learning_rate(3e-4), "the shared U-Net, standardised, Adam lr 3e-4"),
    "noise2self:lr_3e-3": (N2S_UNET + learning_rate(3e-3), "the shared U-Net, standardised, Adam lr 3e-3"),
    "noise2self:lr_3e-4": (N2S_UNET + learning_rate(3e-4), "the shared U-Net, standardised, Adam lr 3e-4"),
    "r2r:recipe": ([], "r2r_bsd68.yaml's DnCNN, Adam lr 1e-3 (the suite row)"),
    "r2r:lr_3e-3": (learning_rate(3e-3), "r2r_bsd68.yaml's DnCNN, Adam lr 3e-3"),
    "r2r:lr_3e-4": (learning_rate(3e-4), "r2r_bsd68.yaml's DnCNN, Adam lr 3e-4"),
    "laine:recipe": ([], "laine_bsd68.yaml's network and ramps, Adam lr 3e-4 (the recipe's)"),
    "laine:lr_1e-3": (learning_rate(1e-3), "laine_bsd68.yaml's network and ramps, Adam lr 1e-3"),
    "laine:lr_3e-3": (learning_rate(3e-3), "laine_bsd68.yaml's network and ramps, Adam lr 3e-3"),
}  # fmt: skip


def run_candidate(suite: Suite, name: str) -> dict:
    row, _, candidate = name.partition(":")
    experiment, _, draws, _ = DATASET_LEVEL[row]
    overrides, what = CANDIDATES[name]
    _, _, fields = suite.train_and_test(row, experiment, draws, overrides, suite.runs / name.replace(":", "_"))
    return {"candidate": name, "row": row, "what": what, "chosen": overrides == DATASET_LEVEL[row][1],
            "test_set": suite.test_set, "overrides": " ".join(overrides), **fields}  # fmt: skip


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; no candidate named: every one."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidates", nargs="*", metavar="ROW:CANDIDATE",
                        help=f"default: every candidate; of {', '.join(CANDIDATES)}")  # fmt: skip
    parser.add_argument("--data", type=Path, help="folder with Train400/, Set12/ (default ./data or ../shared/data)")
    parser.add_argument("--out", type=Path, default=RESULTS / "suite_selection.json", help="results JSON (appended)")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "suite_selection", help="training folders")
    add_budget_arguments(parser)
    args = parser.parse_args(argv)
    args.candidates = chosen_names(parser, args.candidates, list(CANDIDATES), list(CANDIDATES), "candidate")
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = arguments(argv)
    suite = Suite(budget_from(args), args.data or shared_data(), args.runs / "unused.json", None, args.runs, "Set12")
    command = "python -m benchmarks.suite_selection " + " ".join(sys.argv[1:] if argv is None else argv)
    records = []
    for name in args.candidates:
        suite.log(f"candidate {name}: {CANDIDATES[name][1]}")
        record = run_candidate(suite, name) | {"device": device_name(), "commit": suite.commit, "command": command}
        append_records(args.out, [record])
        suite.log(f"{name}: PSNR {record['psnr']:.2f} dB on {record['images']} {suite.test_set} images")
        records.append(record)
    return records


if __name__ == "__main__":
    main()
