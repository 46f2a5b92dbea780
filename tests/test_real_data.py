"""The real standard sets in ../shared/data (skipped where a clone does not have them)."""

from pathlib import Path

import pytest

from core.metrics import per_image_psnr
from datamodules import BSD, MNIST, SIDD
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.real_data


def _need(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    return path


def test_mnist_60k_train_10k_test_with_canonical_md5s():
    root = _need("MNIST")
    data = MNIST(str(root), val_count=5000)
    data.prepare_data()  # verifies the canonical MD5s
    data.setup("fit")
    data.setup("test")
    assert len(data.datasets["train"]) + len(data.datasets["val"]) == 60000
    assert len(data.datasets["test"]) == 10000
    sample = data.datasets["test"][0]
    assert sample["clean"].shape == (1, 28, 28) and set(sample) >= {"noisy", "clean"} and "label" not in sample


def test_train400_to_bsd68_counts_and_sizes():
    root = _need("Train400").parent
    data = BSD(str(root), train_set="Train400", val_set="Set12", test_set="BSD68")
    train, _ = data.load_split("train")
    test, names = data.load_split("test")
    assert len(train) == 400 and len(test) == 68 and len(data.load_split("val")[0]) == 12
    assert train[0].shape == (180, 180, 1)
    assert {image.shape[:2] for image in (test[i] for i in range(68))} == {(321, 481), (481, 321)}


def test_bsds500_to_cbsd68_counts_and_cbsd68_matches_its_folder():
    root = _need("BSDS500").parent
    data = BSD(str(root), train_set="BSD400", val_set="BSD300", test_set="CBSD68", channels=3)
    assert len(data.set_files("BSD400")) == 400 and len(data.set_files("BSD300")) == 100
    assert len(data.set_files("CBSD432")) == 432
    from_folder = {p.stem for p in data.set_files("CBSD68")}
    from_bsds500 = {p.stem for p in data._bsds500_files(("val",), include=from_folder)}
    assert len(from_folder) == 68 and from_folder == from_bsds500
    test, _ = data.load_split("test")
    assert test[0].shape[-1] == 3


def test_sidd_validation_block_sample_is_a_noisy_clean_pair():
    block = _need("SIDD_samples", "DANet_val_block")
    data = SIDD(str(block), val_noisy="noisy.mat", val_clean="gt.mat", val_noisy_key="im_noisy", val_clean_key="im_gt")
    data.setup("test")
    pair = data.datasets["test"][0]
    assert pair["noisy"].shape == pair["clean"].shape == (3, 256, 256)
    psnr = per_image_psnr(pair["noisy"][None], pair["clean"][None]).item()
    assert psnr == pytest.approx(16.15, abs=0.05)  # as the sample's SOURCE.txt states
