"""The peer-library exchange (benchmarks/peers): numpy-only files both ways, the shared patch sampler,
scoring a peer's outputs with this project's metrics, and a clear record when a peer is not installed."""

import numpy as np
import pytest
import torch

from benchmarks.peers import rows
from benchmarks.peers.exchange import random_patches, read_inputs, read_outputs, write_inputs, write_outputs


def test_inputs_and_outputs_round_trip_without_pickles(tmp_path):
    rng = np.random.default_rng(0)
    train, tests = rng.random((3, 20, 24)), [rng.random((10, 12)), rng.random((12, 10))]
    write_inputs(tmp_path / "in.npz", train, tests, 0.1)
    train_back, tests_back, sigma = read_inputs(tmp_path / "in.npz")
    assert train_back.dtype == np.float32 and np.allclose(train_back, train) and sigma == pytest.approx(0.1)
    assert [t.shape for t in tests_back] == [(10, 12), (12, 10)] and np.allclose(tests_back[1], tests[1])
    write_outputs(tmp_path / "out.npz", tests, {"library": "x", "steps": 3})
    outputs, meta = read_outputs(tmp_path / "out.npz")
    assert meta == {"library": "x", "steps": 3} and np.allclose(outputs[0], tests[0])


def test_random_patches_come_from_the_images_in_all_eight_orientations():
    images = np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6)  # every value unique
    blocks = {frozenset(images[n, y : y + 2, x : x + 2].ravel()): images[n, y : y + 2, x : x + 2]
              for n in range(2) for y in range(5) for x in range(5)}  # fmt: skip
    patches = random_patches(images, 400, 2, np.random.default_rng(0))
    assert patches.shape == (400, 2, 2)
    orientations = set()
    for patch in patches:
        block = blocks[frozenset(patch.ravel())]  # a KeyError: not a 2x2 block of one image
        variants = [np.rot90(b, k) for b in (block, block[:, ::-1]) for k in range(4)]
        orientations.add(next(i for i, v in enumerate(variants) if np.array_equal(v, patch)))
    assert orientations == set(range(8))


def test_peer_outputs_are_scored_by_our_metrics_and_set_beside_our_row():
    clean = [torch.full((1, 8, 8), 0.5), torch.full((1, 8, 10), 0.25)]
    outputs = [np.full((8, 8), 0.6, np.float32), np.full((8, 10), 0.25, np.float32)]
    meta = {
        "library": "peer",
        "version": "1",
        "torch": "2",
        "method": "m",
        "network": "n",
        "steps": 10,
        "batch": 4,
        "patch": 8,
        "train_seconds": 5.0,
        "inference_seconds_per_image": 0.5,
        "inference": "single",
    }
    ours = {"row": "r2r", "psnr": 30.0, "train_seconds": 2.0, "steps": 10, "inference_seconds_per_image": 0.25}
    record = rows.peer_record(rows.PEERS["deepinv_r2r"], (outputs, meta), clean, ours)
    # image 1: error 0.1 everywhere -> 20 dB; image 2: exact -> our metric's cap for identical images
    from core.metrics import per_image_psnr

    exact = float(per_image_psnr(clean[1][None], clean[1][None])[0])
    assert record["psnr"] == pytest.approx(round((20.0 + exact) / 2, 3), abs=1e-3)
    assert record["ours"]["train_seconds_per_step_ratio"] == pytest.approx(0.4)
    assert record["ours"]["psnr_gain_db"] == pytest.approx(30.0 - record["psnr"], abs=1e-3)


def test_a_peer_without_its_environment_gets_a_record_saying_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CAREAMICS_PYTHON", str(tmp_path / "missing" / "python"))
    peer = rows.PEERS["careamics_n2v"]
    result = rows.run_peer(peer, tmp_path / "in.npz", tmp_path / "out.npz", {"steps": 1, "batch": 1, "patch": 8},
                           print)  # fmt: skip
    assert isinstance(result, str) and "CAREAMICS_PYTHON" in result
    record = rows.peer_record(peer, result, [], None)
    assert np.isnan(record["psnr"]) and record["note"] == result


def test_a_peer_script_gets_its_method_and_budget_and_a_failure_is_reported(tmp_path, monkeypatch):
    fake = tmp_path / "python"  # stands in for the peer environment's Python: records its arguments, fails
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "argv"}\necho "peer broke" >&2\nexit 3\n')
    fake.chmod(0o755)
    monkeypatch.setenv("DEEPINV_PYTHON", str(fake))
    peer = rows.PEERS["deepinv_ne2ne"]
    result = rows.run_peer(peer, tmp_path / "in.npz", tmp_path / "out.npz",
                           {"steps": 7, "batch": 2, "patch": 16, "r2r_k": 3}, lambda _: None)  # fmt: skip
    argv = (tmp_path / "argv").read_text().split()
    assert argv[0].endswith("deepinv_losses.py") and argv[1:3] == [str(tmp_path / "in.npz"), str(tmp_path / "out.npz")]
    assert argv[argv.index("--method") + 1] == "ne2ne" and argv[argv.index("--steps") + 1] == "7"
    assert "--samples" not in argv  # a Neighbor2Neighbor run has no recorruptions
    assert "--lr" not in argv  # the peer's paper rate; a variant passes another
    assert isinstance(result, str) and "exit 3" in result and "peer broke" in result


def test_the_careamics_row_masks_the_fraction_our_noise2void_row_masks():
    from benchmarks.suite import DATASET_LEVEL

    options = rows.PEERS["careamics_n2v"].script_options
    percent = float(options[options.index("--masked-percentage") + 1])
    ours = DATASET_LEVEL["noise2void"][1]
    assert float(ours[ours.index("--model.init_args.mask_fraction") + 1]) == pytest.approx(percent / 100)


def test_a_rerun_of_our_row_refreshes_the_peer_comparison_and_nothing_else(tmp_path):
    from benchmarks.suite import QUICK, Suite

    suite = Suite(dict(QUICK), tmp_path, tmp_path / "suite.json", None, tmp_path / "runs")
    peer = {"row": "deepinv_r2r", "psnr": 26.0, "images": 2, "steps": 10, "train_seconds": 10.0,
            "inference_seconds_per_image": 1.0, "commit": "peer-commit", "ours": {"psnr_gain_db": -9.0}}  # fmt: skip
    ours = {"row": "r2r", "psnr": 27.5, "steps": 10, "train_seconds": 5.0, "inference_seconds_per_image": 2.0}
    missing = {"row": "careamics_n2v", "psnr": float("nan"), "images": 0, "note": "not run"}
    suite.records = [ours, peer, missing]
    suite.refresh_peer_comparisons()
    assert peer["ours"] == {"row": "r2r", "psnr_gain_db": 1.5, "train_seconds_per_step_ratio": 0.5,
                            "inference_seconds_ratio": 2.0}  # fmt: skip
    assert peer["commit"] == "peer-commit" and "ours" not in missing
    assert (tmp_path / "suite.json").exists()


def test_peer_step_times_time_each_network_per_environment_and_name_the_missing_ones(tmp_path, monkeypatch):
    import json
    import sys

    from benchmarks import common, peer_step_times

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setenv("CAREAMICS_PYTHON", str(tmp_path / "missing" / "python"))
    monkeypatch.setenv("DEEPINV_PYTHON", sys.executable)  # stands in for the peer's environment
    monkeypatch.setitem(peer_step_times.PAIRS, "deepinv", (peer_step_times.PAIRS["deepinv"][0], ("ours_dncnn",)))
    record = peer_step_times.main(["--rounds", "2", "--steps", "2", "--warmup", "1", "--batch", "2", "--patch", "16"])
    assert record["missing_environments"] == ["careamics"]
    assert set(record["rows"]) == {"ours_n2v_unet @ ours", "ours_dncnn @ ours", "ours_dncnn @ deepinv"}
    dncnn = record["rows"]["ours_dncnn @ ours"]
    assert dncnn["parameters"] == sum(p.numel() for p in __import__("networks").DnCNN(1).parameters())
    assert len(dncnn["ms_per_step_rounds"]) == 2 and dncnn["ms_per_step_median"] > 0
    assert json.loads((tmp_path / "peer_step_times.json").read_text())[-1]["rows"] == record["rows"]
