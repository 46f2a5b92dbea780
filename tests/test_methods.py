import csv
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from datamodules import ImageFolder
from lightning_modules import Noise2Noise, Supervised
from networks import UNet


def _batch():
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(2, 1, 16, 16, generator=g)
    return {
        "clean": clean,
        "noisy": clean + 0.1 * torch.randn(clean.shape, generator=g),
        "noisy2": clean + 0.1 * torch.randn(clean.shape, generator=g),
    }


def test_supervised_and_noise2noise_losses_are_the_mse_to_their_targets():
    batch = _batch()
    net = UNet(depth=1, width=4)
    out = net(batch["noisy"])
    assert Supervised(net).training_loss(batch).item() == pytest.approx(F.mse_loss(out, batch["clean"]).item())
    assert Noise2Noise(net).training_loss(batch).item() == pytest.approx(F.mse_loss(out, batch["noisy2"]).item())
    assert Noise2Noise(net, loss="l1").training_loss(batch).item() == pytest.approx(
        F.l1_loss(out, batch["noisy2"]).item()
    )
    with pytest.raises(ValueError, match="unknown loss"):
        Noise2Noise(net, loss="l3")


def test_noise2noise_target_noise_only_adds_a_constant():
    """E||f - y2||^2 = E||f - x||^2 + sigma^2 for independent zero-mean target noise (N2N, Eq. 2-3)."""
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(1, 1, 256, 256, generator=g)
    prediction = clean + 0.05 * torch.randn(clean.shape, generator=g)
    sigma = 0.2
    target = clean + sigma * torch.randn(clean.shape, generator=g)
    assert F.mse_loss(prediction, target).item() == pytest.approx(
        F.mse_loss(prediction, clean).item() + sigma**2, rel=0.02
    )


def test_missing_target_gives_a_clear_error():
    model = Noise2Noise(UNet(depth=1, width=4))
    with pytest.raises(KeyError, match=r"needs the batch keys \['noisy2'\].*synthetic noise"):
        model.training_step({"noisy": torch.rand(1, 1, 8, 8)}, 0)


def test_nan_loss_stops_with_advice():
    model = Supervised(UNet(depth=1, width=4))
    batch = _batch()
    batch["clean"][0, 0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match=r"nan.*checkpoints saved so far are intact.*learning rate"):
        model.training_step(batch, 0)


def test_test_stage_writes_per_image_csv_and_predict_clamps(image_folder: Path, tmp_path: Path):
    data = ImageFolder(str(image_folder), val_count=3, batch_size=2, patch_size=16)
    model = Supervised(UNet(depth=1, width=4))
    trainer = pl.Trainer(
        default_root_dir=tmp_path, logger=False, enable_progress_bar=False, enable_checkpointing=False,
        accelerator="cpu",
    )  # fmt: skip
    results = trainer.test(model, datamodule=data)[0]
    with (tmp_path / "test_results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["image"] for row in rows] == ["img3", "img4", "img5"]
    mean_psnr = sum(float(row["psnr"]) for row in rows) / 3
    assert results["test/psnr"] == pytest.approx(mean_psnr, rel=1e-4)
    assert results["test/noisy_psnr"] == pytest.approx(sum(float(r["noisy_psnr"]) for r in rows) / 3, rel=1e-4)
    predictions = trainer.predict(model, datamodule=data)
    assert all(p.min() >= 0 and p.max() <= 1 for p in predictions)


@pytest.mark.parametrize(
    "method", ["Noise2Noise", "Noise2Void", "Noise2Self", "R2R", "Neighbor2Neighbor", "Supervised"]
)
def test_only_the_supervised_loss_is_given_the_clean_image(method: str):
    import lightning_modules

    seen: list[set[str]] = []
    cls = getattr(lightning_modules, method)

    class Spy(cls):
        def training_loss(self, batch, generator=None):
            seen.append(set(batch))
            return super().training_loss(batch, generator)

    model = Spy(UNet(depth=1, width=4), **({"sigma": 25} if method == "R2R" else {}))
    batch = {**_batch(), "sigma": torch.full((2,), 0.1)}
    model.training_step(batch, 0)
    assert ("clean" in seen[0]) == (method == "Supervised") and "noisy" in seen[0]
    assert "clean" in batch  # the caller's batch is untouched (validation still scores against it)


def test_r2r_validates_with_val_inference_and_tests_with_its_inference():
    from lightning_modules import R2R

    calls = []
    network = UNet(depth=1, width=4)
    model = R2R(network, sigma=25, inference="mc", mc_samples=3, val_inference="single")
    network.register_forward_hook(lambda module, args, output: calls.append(1))
    noisy = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        model.denoise(noisy, stage="val")
        assert len(calls) == 1
        model.denoise(noisy, stage="test")
        assert len(calls) == 1 + 3


def test_validation_without_clean_images_denoises_only_what_a_panel_shows(monkeypatch):
    """A self-supervised run on real captures (no clean image): val/loss on every batch, the denoising
    pass (PD can cost many network passes) only on the batches an image panel shows."""
    from lightning_modules import Noise2Void

    model = Noise2Void(UNet(1, 1, depth=1, width=4), pd_stride=2)
    calls = []
    original = model.denoise_stage
    monkeypatch.setattr(model, "denoise_stage", lambda *a, **k: calls.append(1) or original(*a, **k))
    logged = []
    monkeypatch.setattr(model, "log", lambda name, value, **kwargs: logged.append(name))
    batch = {"noisy": torch.rand(2, 1, 16, 16)}
    assert model.validation_step(batch, 0) is None and calls == [] and logged == ["val/loss"]
    model.validation_images_shown = 3  # a panel of 3 images: batches 0 and 1 (2 images each) are shown
    assert model.validation_step(batch, 1)["denoised"].shape == (2, 1, 16, 16) and calls == [1]
    assert model.validation_step(batch, 2) is None and calls == [1]
    scored = model.validation_step({**batch, "clean": torch.rand(2, 1, 16, 16)}, 5)  # scored: always denoised
    assert scored is not None and calls == [1, 1] and "val/psnr" in logged


@pytest.mark.parametrize(("test_loss", "with_clean", "without_clean"),
                         [("auto", False, True), ("always", True, True), ("never", False, False)])  # fmt: skip
def test_the_test_loss_is_computed_when_asked_or_when_nothing_else_scores(monkeypatch, test_loss, with_clean,
                                                                          without_clean):  # fmt: skip
    """Noise2Void's test loss is a second (masked) network pass per image: by default only test images
    without a clean reference get it, and validation always does."""
    from lightning_modules import Noise2Void

    model = Noise2Void(UNet(1, 1, depth=1, width=4), test_loss=test_loss)
    passes = []
    original = model.network.forward
    monkeypatch.setattr(model.network, "forward", lambda x: passes.append(1) or original(x))
    logged = []
    monkeypatch.setattr(model, "log", lambda name, value, **kwargs: logged.append(name))
    noisy = torch.rand(2, 1, 16, 16)
    model.test_step({"noisy": noisy, "clean": torch.rand(2, 1, 16, 16)}, 0)
    assert ("test/loss" in logged) == with_clean and len(passes) == 1 + with_clean
    logged.clear()
    model.test_step({"noisy": noisy}, 1)
    assert ("test/loss" in logged) == without_clean
    logged.clear()
    model.validation_step({"noisy": noisy, "clean": torch.rand(2, 1, 16, 16)}, 0)
    assert "val/loss" in logged and "val/psnr" in logged
    with pytest.raises(ValueError, match="test_loss"):
        Noise2Void(UNet(1, 1, depth=1, width=4), test_loss="sometimes")
