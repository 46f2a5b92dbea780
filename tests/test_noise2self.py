"""Noise2Self's masking: the grid phases, the replacement, the masked loss and J-invariance."""

import pytest
import torch

from core.masking import grid_mask, interpolate, j_invariant_reconstruction, mask_input, masked_mse
from lightning_modules import Noise2Self
from networks import DnCNN, UNet


@pytest.mark.parametrize("grid", [2, 3, 4])
def test_grid_phases_partition_the_image(grid):
    masks = torch.cat([grid_mask(13, 17, grid, phase) for phase in range(grid * grid)])
    assert torch.equal(masks.sum(dim=0), torch.ones(1, 13, 17))
    mask = grid_mask(13, 17, grid, phase=grid + 1)  # row offset 1, column offset 1
    rows, cols = torch.nonzero(mask[0, 0], as_tuple=True)
    assert set((rows % grid).tolist()) == {1} and set((cols % grid).tolist()) == {1}


def test_interpolation_is_the_reference_kernel_and_ignores_the_pixel_itself():
    image = torch.rand(1, 2, 5, 5, requires_grad=True)
    out = interpolate(image)
    patch = image[0, 1, 1:4, 1:4]
    weights = torch.tensor([[0.5, 1, 0.5], [1, 0, 1], [0.5, 1, 0.5]]) / 6
    assert out[0, 1, 2, 2].item() == pytest.approx((patch * weights).sum().item(), rel=1e-6)
    (grad,) = torch.autograd.grad(out[0, 1, 2, 2], image)
    assert grad[0, 1, 2, 2] == 0 and grad[0, 0].abs().sum() == 0  # not itself, not the other channel


def test_mask_input_replaces_exactly_the_masked_pixels():
    image = torch.rand(2, 1, 8, 8)
    mask = grid_mask(8, 8, 4, 5)
    zeroed = mask_input(image, mask, "zero")
    assert torch.equal(zeroed[mask.expand_as(image) > 0], torch.zeros(2 * 4))
    interpolated = mask_input(image, mask, "interpolate")
    unchanged = mask.expand_as(image) == 0
    assert torch.equal(interpolated[unchanged], image[unchanged])
    assert not torch.equal(interpolated[~unchanged], image[~unchanged])


def test_masked_loss_is_the_mse_over_masked_pixels():
    prediction, target = torch.rand(3, 2, 9, 9), torch.rand(3, 2, 9, 9)
    mask = grid_mask(9, 9, 3, 4)
    picked = mask.expand_as(prediction) > 0
    expected = ((prediction[picked] - target[picked]) ** 2).mean()
    assert masked_mse(prediction, target, mask).item() == pytest.approx(expected.item(), rel=1e-6)


def _gradient_at(function, image, pixel):
    image = image.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(function(image)[(0, 0, *pixel)], image)
    return grad[0, 0]


@pytest.mark.parametrize("pixel", [(5, 6), (0, 0), (12, 3)])
def test_j_invariant_output_does_not_depend_on_its_own_input_pixel(pixel):
    net = UNet(depth=2, width=4).eval()
    image = torch.rand(1, 1, 16, 16)
    grad = _gradient_at(lambda x: j_invariant_reconstruction(net, x, grid=4), image, pixel)
    r, c = pixel
    assert grad[r, c] == 0
    neighbours = [
        (r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)) if 0 <= r + dr < 16 and 0 <= c + dc < 16
    ]
    assert all(grad[n] != 0 for n in neighbours)
    # the same network applied plainly does depend on the pixel: the check above can fail
    assert _gradient_at(net, image, pixel)[r, c] != 0


def test_changing_pixel_j_leaves_the_j_invariant_output_at_j_unchanged():
    net = DnCNN(depth=4, width=8, batch_norm=False).eval()
    image = torch.rand(1, 1, 12, 12)
    changed = image.clone()
    changed[0, 0, 6, 7] += 5.0
    with torch.no_grad():
        a = j_invariant_reconstruction(net, image, grid=3)
        b = j_invariant_reconstruction(net, changed, grid=3)
    assert torch.allclose(a[0, 0, 6, 7], b[0, 0, 6, 7], atol=1e-6)
    assert not torch.allclose(a, b)


def test_module_cycles_phases_in_training_and_fixes_them_in_validation():
    model = Noise2Self(UNet(depth=1, width=4), mask_width=3)
    noisy = torch.rand(2, 1, 12, 12)
    expected = model.masked_loss(noisy, phase=0)
    assert model.training_loss({"noisy": noisy}).item() == pytest.approx(expected.item())  # step 0 -> phase 0
    first = model.validation_loss({"noisy": noisy}, torch.Generator().manual_seed(7))
    again = model.validation_loss({"noisy": noisy}, torch.Generator().manual_seed(7))
    assert first.item() == again.item()
    j_inv = Noise2Self(model.network, mask_width=3, inference="j_invariant").denoise(noisy)
    assert torch.allclose(j_inv, j_invariant_reconstruction(model.network, noisy, 3))
