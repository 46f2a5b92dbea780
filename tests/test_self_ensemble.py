"""Geometric self-ensemble: the mean is equivariant to the 8 transforms, and the model option uses it."""

import pytest
import torch
import torch.nn.functional as F

from lightning_modules import Noise2Self, Noise2Void
from networks import UNet
from networks.tiling import dihedral, undo_dihedral, with_flips_and_rotations


def _asymmetric_filter(image):
    """A convolution that is not rotation- or flip-equivariant (an off-centre, uneven kernel)."""
    kernel = torch.tensor([[0.0, 0.5, 0.1], [0.2, 0.1, 0.0], [0.0, 0.0, 0.1]])[None, None]
    return F.conv2d(image, kernel, padding=1) + 0.3 * image.square()


@pytest.mark.parametrize("index", range(8))
def test_the_ensemble_is_equivariant_where_the_denoiser_is_not(index):
    image = torch.rand(1, 1, 9, 9)
    ensemble = with_flips_and_rotations(_asymmetric_filter)
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
