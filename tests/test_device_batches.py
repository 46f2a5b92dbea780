"""Training batches made on the device: uniform crops, all 8 orientations, the noise model's
statistics, per-rank and per-step draws, and the batch contract of the per-sample path."""

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from datamodules.device_batches import DeviceBatches
from noise import Gaussian, Poisson


def _ramp(height: int, width: int) -> np.ndarray:
    """An image whose pixel values are their flat indices, so a patch's corner says where it came from."""
    return np.arange(height * width, dtype=np.float32).reshape(height, width, 1)


def test_crop_positions_are_uniform_over_the_image():
    height, width, patch = 12, 10, 4
    batches = DeviceBatches([_ramp(height, width)], patch, 64, 64, None, seed=0, augment=False)
    corners = torch.cat([batches.batch(epoch, 0)["noisy"][:, 0, 0, 0] for epoch in range(100)]).long()
    positions = (height - patch + 1) * (width - patch + 1)
    rows, cols = corners // width, corners % width
    counts = torch.bincount(rows * (width - patch + 1) + cols, minlength=positions)
    assert len(counts) == positions and counts.min() > 0  # every position, and none outside the image
    assert chisquare(counts.numpy()).pvalue > 1e-3


def test_all_eight_orientations_occur_equally_often():
    batches = DeviceBatches([_ramp(4, 4)], 4, 256, 256, None, seed=1)
    patches = torch.cat([batches.batch(epoch, 0)["noisy"].reshape(-1, 16) for epoch in range(8)])
    reference = torch.arange(16.0).reshape(4, 4)
    group = [torch.rot90(g, k) for g in (reference, reference.T) for k in range(4)]
    codes = torch.stack([(patches == g.reshape(1, 16)).all(dim=1) for g in group], dim=1)
    assert codes.sum(dim=1).eq(1).all()  # each patch is exactly one of the 8 orientations
    counts = codes.sum(dim=0).numpy()
    assert (counts > 0).all() and chisquare(counts).pvalue > 1e-3


def test_every_colour_patch_is_an_oriented_crop_of_its_own_image():
    # images of different sizes (stacked into one zero-padded tensor) with distinct values per pixel and
    # channel: each patch must be, channel for channel, one of the 8 orientations of a crop inside its image
    rng = np.random.default_rng(8)
    images = [rng.permutation(h * w * 3).reshape(h, w, 3).astype(np.float32) + 1000 * i for i, (h, w) in
              enumerate([(9, 14), (12, 7), (6, 6)])]  # fmt: skip
    batches = DeviceBatches(images, 5, 20, 60, None, seed=8)
    batch = batches.batch(0, 0)["noisy"]
    assert batch.shape == (60, 3, 5, 5) and batch.is_contiguous()
    for patch in batch:
        image = torch.from_numpy(images[int(patch[0, 0, 0]) // 1000]).permute(2, 0, 1)
        crops = [image[:, r : r + 5, c : c + 5] for r in range(image.shape[1] - 4) for c in range(image.shape[2] - 4)]
        oriented = [
            torch.rot90(g, k, dims=(1, 2)) for crop in crops for g in (crop, crop.transpose(1, 2)) for k in range(4)
        ]
        assert any(torch.equal(patch, candidate) for candidate in oriented)


def test_cpu_noise_draws_do_not_depend_on_the_thread_count():
    clean = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(9))
    threads = torch.get_num_threads()
    draws = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            draws.append(Gaussian((5, 50)).sample_batch(clean, torch.Generator().manual_seed(10)))
    finally:
        torch.set_num_threads(threads)
    (noisy_a, noisy2_a, params_a), (noisy_b, noisy2_b, params_b) = draws
    assert torch.equal(noisy_a, noisy_b) and torch.equal(noisy2_a, noisy2_b)
    assert torch.equal(params_a["sigma"], params_b["sigma"]) and not torch.equal(noisy_a, noisy2_a)


def test_gaussian_noise_has_the_configured_std_and_independent_second_draw():
    image = np.full((64, 64, 1), 0.5, dtype=np.float32)
    batch = DeviceBatches([image], 32, 64, 64, Gaussian(25), seed=2).batch(0, 0)
    first, second = batch["noisy"] - batch["clean"], batch["noisy2"] - batch["clean"]
    assert first.std().item() == pytest.approx(25 / 255, rel=0.02)
    assert second.std().item() == pytest.approx(25 / 255, rel=0.02)
    assert abs(np.corrcoef(first.flatten(), second.flatten())[0, 1]) < 0.02
    assert batch["sigma"].shape == (64,) and torch.allclose(batch["sigma"], torch.tensor(25 / 255))


def test_a_noise_range_draws_one_level_per_patch_shared_by_both_draws():
    image = np.full((64, 64, 1), 0.5, dtype=np.float32)
    batch = DeviceBatches([image], 64, 32, 32, Gaussian((5, 50)), seed=3).batch(0, 0)
    sigma = batch["sigma"]
    assert sigma.min() >= 5 / 255 and sigma.max() <= 50 / 255 and sigma.std() > 0.02
    for key in ("noisy", "noisy2"):
        measured = (batch[key] - batch["clean"]).flatten(1).std(dim=1)
        assert torch.allclose(measured, sigma, rtol=0.06)


def test_poisson_noise_has_variance_intensity_over_lambda():
    image = np.full((64, 64, 1), 0.4, dtype=np.float32)
    batch = DeviceBatches([image], 64, 16, 16, Poisson(30), seed=4).batch(0, 0)
    assert batch["noisy"].mean().item() == pytest.approx(0.4, rel=0.01)
    assert batch["noisy"].var().item() == pytest.approx(0.4 / 30, rel=0.03)
    assert torch.allclose(batch["lam"], torch.tensor(30.0))


def test_ranks_draw_different_shards_and_every_image_is_used_per_epoch():
    images = [np.full((16, 16, 1), i, dtype=np.float32) for i in range(6)]
    ranks = [DeviceBatches(images, 8, 4, 4, None, seed=5, num_replicas=2, rank=r) for r in range(2)]
    assert len(ranks[0]) == 3  # 6 images x 4 patches / 2 ranks / batch 4
    values = [torch.cat([b["noisy"][:, 0, 0, 0] for b in r]).long() for r in ranks]
    assert not torch.equal(values[0], values[1])
    assert torch.bincount(torch.cat(values), minlength=6).tolist() == [4] * 6  # each image 4 times in total
    assert not torch.equal(ranks[0].batch(0, 0)["noisy"], ranks[1].batch(0, 0)["noisy"])


def test_draws_are_a_function_of_epoch_and_step():
    images = [np.random.default_rng(0).random((20, 24, 1)).astype(np.float32)]
    batches = DeviceBatches(images, 8, 16, 4, Gaussian(25), seed=6)
    batches.set_epoch(2)
    third = list(batches)[2]
    again = batches.batch(2, 2)
    for key in ("noisy", "noisy2", "clean", "sigma"):
        assert torch.equal(third[key], again[key])
    assert not torch.equal(batches.batch(3, 2)["noisy"], again["noisy"])
    assert third["noisy"].shape == (4, 1, 8, 8) and third["noisy"].is_contiguous()


def test_small_images_are_reflect_padded_and_capture_groups_are_refused():
    batch = DeviceBatches([_ramp(5, 6)], 8, 2, 2, None, seed=0).batch(0, 0)
    assert batch["noisy"].shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="batches_on_device: false"):
        DeviceBatches([{"noisy": _ramp(8, 8), "clean": _ramp(8, 8)}], 8, 1, 1, None, seed=0)


def test_clipped_noise_stays_in_range_like_the_per_sample_path():
    image = np.full((32, 32, 1), 0.95, dtype=np.float32)
    batch = DeviceBatches([image], 32, 8, 8, Gaussian(50, clip=True), seed=7).batch(0, 0)
    for key in ("noisy", "noisy2"):
        assert batch[key].min() >= 0 and batch[key].max() <= 1 and (batch[key] == 1).any()
