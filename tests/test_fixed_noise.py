"""The fixed-noise protocol: each training image has one noisy version (and one second draw), the same
in every epoch, patch, worker and data path; fresh noise differs every time."""

import numpy as np
import pytest
import torch

from datamodules.datasets import TrainPatchDataset
from datamodules.device_batches import DeviceBatches
from datamodules.samples import SampleImages
from noise import Gaussian


def _unique_image(height: int = 24, width: int = 20) -> np.ndarray:
    """Every pixel a different value, so a clean value says which pixel of the image it is."""
    rng = np.random.default_rng(0)
    return rng.permutation(height * width).astype(np.float32).reshape(height, width, 1) / (height * width)


def _noise_by_pixel(batch: dict[str, torch.Tensor], key: str = "noisy") -> dict[float, float]:
    clean, noisy = batch["clean"].flatten().tolist(), batch[key].flatten().tolist()
    return dict(zip(clean, noisy, strict=True))


def _samples(dataset: TrainPatchDataset, epoch: int) -> dict[str, torch.Tensor]:
    items = [dataset[(epoch, index)] for index in range(len(dataset))]
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


def _agree(a: dict[float, float], b: dict[float, float]) -> tuple[int, bool]:
    common = set(a) & set(b)
    return len(common), all(a[value] == b[value] for value in common)


@pytest.mark.parametrize("draws", ["fixed", "fresh"])
def test_per_sample_patches_cut_one_fixed_noisy_image(draws):
    image = _unique_image()
    dataset = TrainPatchDataset([image], 12, 6, Gaussian(sigma=25), seed=3, noise_draws=draws)
    first, second = _samples(dataset, 0), _samples(dataset, 1)
    common, same = _agree(_noise_by_pixel(first), _noise_by_pixel(second))
    assert common > 50
    assert same == (draws == "fixed")
    # the second draw is another noisy version of the same image, not a copy of the first
    assert not torch.equal(first["noisy"], first["noisy2"])
    if draws == "fixed":
        common2, same2 = _agree(_noise_by_pixel(first, "noisy2"), _noise_by_pixel(second, "noisy2"))
        assert common2 > 50 and same2
        residual = first["noisy"] - first["clean"]
        assert residual.std().item() == pytest.approx(25 / 255, rel=0.15)


def test_device_batches_hold_the_same_fixed_draws_as_the_per_sample_path():
    images = [_unique_image(), _unique_image(18, 22)]
    device = DeviceBatches(images, 10, 8, 16, Gaussian(sigma=25), seed=5, noise_draws="fixed")
    per_sample = TrainPatchDataset(images, 10, 8, Gaussian(sigma=25), seed=5, noise_draws="fixed")
    for epoch in (0, 3):
        batch = device.batch(epoch, 0)
        assert set(batch) == {"noisy", "noisy2", "clean", "sigma"}
        assert batch["noisy"].shape == batch["clean"].shape == (16, 1, 10, 10)
        for which in range(2):  # patches of image `which`: their clean values pick its pixels
            rows = [i for i in range(16) if _image_of(batch["clean"][i], images) == which]
            reference = _noise_by_pixel(_samples(_only(per_sample, which), 0))
            for i in rows:
                common, same = _agree(_noise_by_pixel({k: batch[k][i] for k in ("clean", "noisy")}), reference)
                assert common > 0 and same
    fresh = DeviceBatches(images, 10, 8, 16, Gaussian(sigma=25), seed=5)
    a, b = fresh.batch(0, 0), fresh.batch(1, 0)
    assert not _agree(_noise_by_pixel(a), _noise_by_pixel(b))[1]


def _image_of(patch: torch.Tensor, images: list[np.ndarray]) -> int:
    value = patch.flatten()[0].item()
    return next(k for k, image in enumerate(images) if np.isclose(image, value, atol=0).any())


def _only(dataset: TrainPatchDataset, which: int) -> TrainPatchDataset:
    """The per-sample dataset restricted to the patches of image ``which`` (same seed, same draws)."""

    class Subset(TrainPatchDataset):
        def __len__(self) -> int:
            return self.patches_per_image

        def __getitem__(self, key):
            epoch, index = key
            return super().__getitem__((epoch, which * self.patches_per_image + index))

    subset = Subset.__new__(Subset)
    subset.__dict__.update(dataset.__dict__)
    return subset


def test_the_datamodule_option_is_checked_and_reaches_the_training_set():
    with pytest.raises(ValueError, match="unknown noise_draws 'once'"):
        SampleImages(noise_draws="once")
    data = SampleImages(noise_draws="fixed", patch_size=16, patches_per_image=2, batch_size=4)
    data.setup("fit")
    assert data.datasets["train"].noise_draws == "fixed"
    data.batches_on_device = True
    loader = data.train_dataloader()
    assert set(loader.fixed_params) == {"sigma"} and len(loader.fixed_params["sigma"]) == 8
