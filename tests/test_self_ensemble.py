"""Geometric self-ensemble: the 8 transforms invert exactly, and the mean is equivariant to them."""

import pytest
import torch
import torch.nn.functional as F

from core.self_ensemble import dihedral, self_ensemble, undo_dihedral
from lightning_modules import Noise2Self, Noise2Void
from networks import UNet


def _asymmetric_filter(image):
    """A convolution that is not rotation- or flip-equivariant (an off-centre, uneven kernel)."""
    kernel = torch.tensor([[0.0, 0.5, 0.1], [0.2, 0.1, 0.0], [0.0, 0.0, 0.1]])[None, None]
    return F.conv2d(image, kernel, padding=1) + 0.3 * image.square()


@pytest.mark.parametrize("index", range(8))
def test_each_transform_is_undone_exactly(index):
    image = torch.rand(2, 3, 5, 7)
    assert torch.equal(undo_dihedral(dihedral(image, index), index), image)


def test_the_eight_transforms_are_distinct():
    image = torch.rand(1, 1, 6, 6)
    seen = {tuple(dihedral(image, index).flatten().tolist()) for index in range(8)}
    assert len(seen) == 8


@pytest.mark.parametrize("index", range(8))
def test_the_ensemble_is_equivariant_where_the_denoiser_is_not(index):
    image = torch.rand(1, 1, 9, 9)
    ensemble = lambda x: self_ensemble(lambda y, _: _asymmetric_filter(y), x)  # noqa: E731
    assert torch.allclose(ensemble(dihedral(image, index)), dihedral(ensemble(image), index), atol=1e-6)
    if index:  # the plain filter is not: the check above can fail
        assert not torch.allclose(
            _asymmetric_filter(dihedral(image, index)), dihedral(_asymmetric_filter(image), index)
        )


def test_the_option_averages_test_and_predict_but_not_validation():
    torch.manual_seed(0)
    model = Noise2Void(UNet(depth=1, width=4), self_ensemble=True).eval()
    noisy = torch.rand(1, 1, 12, 12)
    with torch.no_grad():
        expected = sum(undo_dihedral(model.network(dihedral(noisy, k)), k) for k in range(8)) / 8
        assert torch.allclose(model.denoise_stage(noisy, stage="test"), expected, atol=1e-6)
        assert torch.allclose(model.denoise_stage(noisy, stage="predict"), expected, atol=1e-6)
        assert torch.equal(model.denoise_stage(noisy, stage="val"), model.network(noisy))
        assert not torch.allclose(expected, model.network(noisy))


def test_the_ensemble_wraps_pixel_shuffle_and_transforms_image_shaped_batch_values():
    torch.manual_seed(0)
    model = Noise2Self(UNet(depth=1, width=4), mask_width=2, pd_stride=2, self_ensemble=True).eval()
    noisy = torch.rand(1, 1, 12, 12)
    seen = []
    original = model.denoise_with_options

    def record(image, generator=None, batch=None, stage="test"):
        seen.append(torch.equal(batch["noisy"], image))
        return original(image, generator, batch, stage)

    model.denoise_with_options = record
    with torch.no_grad():
        output = model.denoise_stage(noisy, batch={"noisy": noisy, "name": ["a"]}, stage="test")
    assert seen == [True] * 8 and output.shape == noisy.shape
