"""The evaluation copy used by ``fast_inference``: same outputs, batch norm folded, the trained network untouched."""

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from datamodules import ImageFolder
from lightning_modules import R2R, Noise2Self
from networks import DnCNN
from networks.evaluation_copy import evaluation_copy


def _dncnn_with_batch_statistics() -> DnCNN:
    torch.manual_seed(0)
    network = DnCNN(depth=4, width=8)
    for module in network.modules():  # non-trivial running statistics, so folding has something to do
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
    return network


def test_copy_folds_batch_norm_and_matches_the_network_in_eval_mode():
    network = _dncnn_with_batch_statistics()
    copy = evaluation_copy(network)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in copy.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in network.modules())
    assert network.training, "the trained network's mode must not change"
    noisy = torch.rand(2, 1, 23, 31)
    with torch.no_grad():
        expected = network.eval()(noisy)
        torch.testing.assert_close(copy(noisy), expected, atol=1e-5, rtol=1e-5)
    weight = next(p for p in copy.parameters() if p.dim() == 4)
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert all(p.is_contiguous() for p in network.parameters())


class _ShapeDependent(nn.Module):
    """Python control flow on a tensor value: torch.fx cannot trace it, so the copy is not folded."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.norm = nn.BatchNorm2d(1)

    def forward(self, x):
        return self.norm(self.conv(x)) if x.mean() > 0 else x


def test_untraceable_network_is_copied_without_folding():
    network = _ShapeDependent().eval()
    copy = evaluation_copy(network)
    noisy = torch.rand(1, 1, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(copy(noisy), network(noisy))


@pytest.mark.parametrize("method", ["r2r", "n2s"])
def test_fast_inference_gives_the_same_test_scores(method, image_folder: Path, tmp_path: Path):
    def test_scores(fast: bool) -> dict:
        network = _dncnn_with_batch_statistics()
        if method == "r2r":
            model = R2R(network, sigma=25, inference="mc", mc_samples=3, fast_inference=fast)
        else:
            model = Noise2Self(network, inference="j_invariant", fast_inference=fast)
        seen = []

        class Spy(pl.Callback):
            def on_test_batch_start(self, trainer, module, *args):
                seen.append(module.inference_network() is not module.network)

        trainer = pl.Trainer(
            default_root_dir=tmp_path / str(fast), logger=False, enable_progress_bar=False,
            enable_checkpointing=False, accelerator="cpu", callbacks=[Spy()],
        )  # fmt: skip
        data = ImageFolder(str(image_folder), val_count=3, batch_size=2, patch_size=16)
        scores = trainer.test(model, datamodule=data, verbose=False)[0]
        assert seen and all(s == fast for s in seen)
        assert model.inference_network() is model.network, "the copy is dropped after testing"
        return scores

    slow, fast = test_scores(False), test_scores(True)
    assert fast["test/psnr"] == pytest.approx(slow["test/psnr"], abs=1e-4)
    assert fast["test/ssim"] == pytest.approx(slow["test/ssim"], abs=1e-5)
