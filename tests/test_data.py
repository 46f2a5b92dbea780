from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from core.image_io import ImageReadError, read_image
from core.seeding import VAL
from datamodules import ImageFolder, SampleImages
from datamodules.datasets import EvalImageDataset, TrainPatchDataset
from datamodules.epoch_sampler import EpochSampler
from noise import Gaussian
from tests.conftest import smooth_image


def _images(n=4, size=(40, 48)):
    rng = np.random.default_rng(0)
    return [smooth_image(rng, *size)[..., None].astype(np.float32) / 255 for _ in range(n)]


def test_training_samples_are_a_function_of_epoch_and_index():
    dataset = TrainPatchDataset(_images(), patch_size=16, patches_per_image=3, noise=Gaussian(25), seed=7)
    a, b = dataset[(0, 5)], dataset[(0, 5)]
    for key in ("noisy", "noisy2", "clean", "sigma"):
        assert torch.equal(a[key], b[key])
    next_epoch = dataset[(1, 5)]
    assert not torch.equal(a["noisy"], next_epoch["noisy"])  # fresh noise every epoch
    assert a["noisy"].shape == (1, 16, 16)


def test_second_observation_is_independent_with_the_same_level():
    dataset = TrainPatchDataset(_images(1, (128, 128)), 128, 1, Gaussian((10, 40)), seed=0, augment=False)
    sample = dataset[(0, 0)]
    n1, n2 = sample["noisy"] - sample["clean"], sample["noisy2"] - sample["clean"]
    assert abs(np.corrcoef(n1.flatten(), n2.flatten())[0, 1]) < 0.03
    assert n2.std().item() == pytest.approx(sample["sigma"].item(), rel=0.05)


def test_flips_and_rotations_cover_all_eight_orientations():
    image = np.arange(16, dtype=np.float32).reshape(4, 4, 1)  # no symmetry: every orientation differs
    dataset = TrainPatchDataset([image], patch_size=4, patches_per_image=1, noise=None, seed=0)
    seen = {tuple(dataset[(epoch, 0)]["noisy"].flatten().tolist()) for epoch in range(200)}
    assert len(seen) == 8


def test_eval_noise_is_identical_every_epoch():
    dataset = EvalImageDataset(_images(2), ["a", "b"], Gaussian(25), seed=3, stage=VAL)
    assert torch.equal(dataset[1]["noisy"], dataset[1]["noisy"])
    assert dataset[1]["name"] == "b" and dataset[0]["clean"].shape == (1, 40, 48)


def test_batches_do_not_depend_on_the_number_of_workers():
    dataset = TrainPatchDataset(_images(), patch_size=16, patches_per_image=2, noise=Gaussian(25), seed=1)

    def batches(workers):
        sampler = EpochSampler(dataset, seed=1)
        sampler.set_epoch(3)
        return [b["noisy"] for b in DataLoader(dataset, batch_size=3, sampler=sampler, num_workers=workers)]

    for x, y in zip(batches(0), batches(2), strict=True):
        assert torch.equal(x, y)


def test_sampler_shards_disjointly_across_ranks_and_reshuffles_per_epoch():
    dataset = list(range(20))
    ranks = [EpochSampler(dataset, num_replicas=2, rank=r, seed=0) for r in range(2)]
    seen = [[i for _, i in s] for s in ranks]
    assert set(seen[0]).isdisjoint(seen[1]) and set(seen[0]) | set(seen[1]) == set(range(20))
    ranks[0].set_epoch(1)
    epochs_and_indices = list(ranks[0])
    assert {e for e, _ in epochs_and_indices} == {1}
    assert [i for _, i in epochs_and_indices] != seen[0]


def test_small_images_are_reflect_padded_to_the_patch_size():
    dataset = TrainPatchDataset(_images(1, (10, 12)), patch_size=24, patches_per_image=1, noise=None, seed=0)
    assert dataset[(0, 0)]["noisy"].shape == (1, 24, 24)


def test_read_image_8_and_16_bit_png_and_tiff(tmp_path: Path):
    values8 = np.array([[0, 255], [128, 64]], dtype=np.uint8)
    values16 = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    iio.imwrite(tmp_path / "a.png", values8)
    iio.imwrite(tmp_path / "b.png", values16)
    iio.imwrite(tmp_path / "c.tif", values16)
    rgb = np.stack([values8, values8 // 2, values8 // 4], axis=-1)
    iio.imwrite(tmp_path / "d.png", rgb)
    np.testing.assert_allclose(read_image(tmp_path / "a.png", 1)[..., 0], values8 / 255, atol=1e-6)
    np.testing.assert_allclose(read_image(tmp_path / "b.png", 1)[..., 0], values16 / 65535, atol=1e-6)
    np.testing.assert_allclose(read_image(tmp_path / "c.tif", 1)[..., 0], values16 / 65535, atol=1e-6)
    assert read_image(tmp_path / "a.png", 3).shape == (2, 2, 3)
    gray = read_image(tmp_path / "d.png", 1)[..., 0]
    np.testing.assert_allclose(gray, (rgb / 255) @ np.array([0.299, 0.587, 0.114]), atol=1e-5)


def test_folder_datamodule_splits_and_serves_batches(image_folder: Path):
    data = ImageFolder(str(image_folder), val_count=2, patch_size=16, patches_per_image=2, batch_size=4)
    data.setup("fit")
    assert len(data.datasets["train"]) == 4 * 2
    assert [data.datasets["val"][i]["name"] for i in range(2)] == ["img4", "img5"]
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"noisy", "noisy2", "clean", "sigma"} and batch["noisy"].shape == (4, 1, 16, 16)


def test_folder_without_noise_serves_noisy_images_only(image_folder: Path):
    data = ImageFolder(str(image_folder), noise=None, val_count=1)
    data.setup("validate")
    assert set(data.datasets["val"][0]) == {"noisy", "name", "index"}


def test_missing_folder_gives_a_clear_error(tmp_path: Path):
    data = ImageFolder(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"does not exist.*Check the path"):
        data.setup("fit")


def test_empty_folder_gives_a_clear_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(FileNotFoundError, match=r"contains no images.*\.png"):
        ImageFolder(str(tmp_path / "empty")).setup("fit")


def test_corrupt_image_names_the_file_and_the_fix(image_folder: Path):
    (image_folder / "img2.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(ImageReadError, match=r"img2\.png.*corrupt.*replace it"):
        ImageFolder(str(image_folder)).setup("fit")


def test_embedded_samples_load_offline_gray_and_rgb():
    gray = SampleImages(channels=1)
    gray.setup("test")
    assert len(gray.datasets["test"]) == 2 and gray.datasets["test"][0]["noisy"].shape[0] == 1
    rgb = SampleImages(channels=3)
    train, names = rgb.load_split("train")
    assert len(train) == 8 and all(image.shape[-1] == 3 for image in train)
    val_names = set(rgb.load_split("val")[1])
    assert val_names.isdisjoint(names) and val_names.isdisjoint(rgb.load_split("test")[1])
