"""Noise2Void's masking: which pixels are picked, what replaces them, the loss, and DDP streams."""

from unittest.mock import PropertyMock, patch

import pytest
import torch

from core.masking import j_invariant_reconstruction, masked_mse
from core.n2v_manipulation import n2v_manipulate, neighbour_offsets, stratified_coordinates
from lightning_modules import Noise2Void
from networks import UNet


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_stratified_picks_about_the_requested_fraction_one_per_box():
    b, r, c = stratified_coordinates(8, 64, 64, 0.002, _gen())
    box = round(0.002**-0.5)  # 22
    per_image = torch.bincount(b, minlength=8).float()
    assert per_image.mean().item() == pytest.approx(64 * 64 / box**2, rel=0.35)
    boxes = set(zip(b.tolist(), (r // box).tolist(), (c // box).tolist(), strict=True))
    assert len(boxes) == len(b)  # at most one pick per box
    assert r.max() < 64 and c.max() < 64


def test_masked_pixels_are_exactly_the_picked_ones_and_never_replaced_by_themselves():
    # every pixel value unique, so a replacement can be traced back to where it came from
    noisy = torch.arange(2 * 3 * 40 * 40, dtype=torch.float32).reshape(2, 3, 40, 40)
    manipulated, mask = n2v_manipulate(noisy, 0.01, _gen(1))
    changed = (manipulated != noisy).any(dim=1, keepdim=True)
    assert torch.equal(changed.float(), mask)  # with unique values every picked pixel changes
    b, _, r, c = torch.nonzero(mask, as_tuple=True)
    for image, row, col in zip(b.tolist(), r.tolist(), c.tolist(), strict=True):
        value = manipulated[image, 0, row, col].item()
        source = (noisy[image, 0] == value).nonzero()[0].tolist()
        assert source != [row, col]
        assert max(abs(source[0] - row), abs(source[1] - col)) <= 2
        # all channels take the same neighbour
        assert manipulated[image, :, row, col].tolist() == noisy[image, :, source[0], source[1]].tolist()


def test_neighbour_offsets_are_uniform_over_the_window_without_the_centre():
    offsets = neighbour_offsets(2)
    assert len(offsets) == 24 and not (offsets == 0).all(dim=1).any()
    noisy = torch.arange(64 * 64, dtype=torch.float32).reshape(1, 1, 64, 64)
    counts = torch.zeros(5, 5)
    for seed in range(300):
        manipulated, mask = n2v_manipulate(noisy, 0.02, _gen(seed))
        _, _, r, c = torch.nonzero(mask, as_tuple=True)
        inside = (r >= 2) & (r < 62) & (c >= 2) & (c < 62)  # no reflection at the border
        source = manipulated[0, 0, r[inside], c[inside]].long()
        dy, dx = source // 64 - r[inside], source % 64 - c[inside]
        counts.index_put_((dy + 2, dx + 2), torch.ones(len(dy)), accumulate=True)
    assert counts[2, 2] == 0
    expected = counts.sum() / 24
    off_centre = counts.flatten()[torch.arange(25) != 12]
    chi_square = ((off_centre - expected) ** 2 / expected).sum().item()
    assert chi_square < 50  # 23 degrees of freedom: p < 0.001 at 49.7


def test_median_replacement_is_the_median_of_the_window_without_the_centre():
    noisy = torch.rand(1, 2, 30, 30, generator=_gen(2))
    manipulated, mask = n2v_manipulate(noisy, 0.01, _gen(3), replacement="median")
    _, _, r, c = torch.nonzero(mask, as_tuple=True)
    row, col = next((a, b) for a, b in zip(r.tolist(), c.tolist(), strict=True) if 2 <= a < 28 and 2 <= b < 28)
    window = noisy[0, :, row - 2 : row + 3, col - 2 : col + 3].reshape(2, 25)
    without_centre = torch.cat([window[:, :12], window[:, 13:]], dim=1)
    torch.testing.assert_close(manipulated[0, :, row, col], without_centre.median(dim=1).values)


def test_loss_is_the_mse_over_picked_pixels():
    model = Noise2Void(UNet(depth=1, width=4), mask_fraction=0.01)
    noisy = torch.rand(2, 1, 32, 32)
    loss = model.training_loss({"noisy": noisy}, _gen(4))
    manipulated, mask = n2v_manipulate(noisy, 0.01, _gen(4))
    output = model.network(manipulated)
    picked = mask.bool()
    assert loss.item() == pytest.approx(((output[picked] - noisy[picked]) ** 2).mean().item(), rel=1e-5)
    assert loss.item() == pytest.approx(masked_mse(output, noisy, mask).item(), rel=1e-6)


def test_two_ddp_ranks_draw_different_masks_and_a_rank_repeats_itself():
    model = Noise2Void(UNet(depth=1, width=4), mask_fraction=0.01)
    noisy = torch.rand(1, 1, 64, 64, generator=_gen(9))

    def mask_on(rank: int, step: int) -> torch.Tensor:
        with (
            patch.object(Noise2Void, "global_rank", new_callable=PropertyMock, return_value=rank),
            patch.object(Noise2Void, "global_step", new_callable=PropertyMock, return_value=step),
        ):
            return n2v_manipulate(noisy, 0.01, model.step_generator("train", batch_idx=0))[1]

    assert not torch.equal(mask_on(0, 5), mask_on(1, 5))  # ranks differ
    assert torch.equal(mask_on(1, 5), mask_on(1, 5))  # the same step of a rank (e.g. after resume) repeats
    assert not torch.equal(mask_on(0, 5), mask_on(0, 6))  # fresh masks every step
    val_a = n2v_manipulate(noisy, 0.01, model.step_generator("val", batch_idx=3))[1]
    val_b = n2v_manipulate(noisy, 0.01, model.step_generator("val", batch_idx=3))[1]
    assert torch.equal(val_a, val_b)  # fixed validation masks


@pytest.mark.parametrize("axis", ["horizontal", "vertical"])
def test_struct_mask_keeps_every_original_value_of_the_line_out_of_the_input(axis):
    """structN2V by autograd: no original value on a picked pixel's line, the pixel included, survives in
    the unpicked pixels of the input (random values stand in), and each picked pixel's replacement comes
    from off its own line. (As in Noise2Void itself, another picked pixel's replacement may copy it.)"""
    noisy = torch.rand(2, 3, 32, 32, generator=_gen(3), requires_grad=True)
    noisy.data[0, 1, 16, 16] = 2.0  # an extreme on a line: the stand-ins' range must not pass its gradient
    generator = torch.Generator().manual_seed(1)
    manipulated, mask = n2v_manipulate(noisy, 1 / 64, generator, struct_length=5, struct_axis=axis)
    (grad,) = torch.autograd.grad((manipulated * (1 - mask)).sum(), noisy, retain_graph=True)
    picked = mask[:, 0].nonzero().tolist()
    assert picked
    for b, r, c in picked:
        line = [(r, c + k) if axis == "horizontal" else (r + k, c) for k in range(-2, 3)]
        line = [(rr, cc) for rr, cc in line if 0 <= rr < 32 and 0 <= cc < 32]
        (own,) = torch.autograd.grad(manipulated[b, :, r, c].sum(), noisy, retain_graph=True)
        for rr, cc in line:
            assert torch.all(grad[b, :, rr, cc] == 0), f"{(rr, cc)} on the line of {(r, c)} reaches the input"
            assert torch.all(own[b, :, rr, cc] == 0), f"{(r, c)} is replaced by {(rr, cc)} on its own line"
        assert own[b].sum() == 3  # one neighbour's value, all channels
    (grad,) = torch.autograd.grad(manipulated.sum(), noisy)
    # off the line the input is the image itself
    untouched = grad[:, 0] == 1
    assert untouched.float().mean() > 0.8
    # line values are random within the image's range, not the original ones
    b, r, c = picked[0]
    rr, cc = (r, min(c + 1, 31)) if axis == "horizontal" else (min(r + 1, 31), c)
    assert not torch.equal(manipulated[b, :, rr, cc], noisy[b, :, rr, cc])


def test_struct_length_must_be_odd():
    with pytest.raises(ValueError, match="odd"):
        n2v_manipulate(torch.rand(1, 1, 8, 8), 0.1, torch.Generator(), struct_length=4)


def test_blind_inference_never_reads_the_pixel_it_denoises():
    # Noise2Self's J-invariant construction on the Noise2Void network: the gradient of the output at a
    # pixel with respect to that pixel's input is zero, and the single pass's is not (the test can fail)
    torch.manual_seed(0)
    network = UNet(depth=1, width=4)
    model = Noise2Void(network, inference="j_invariant").eval()
    image = torch.rand(1, 1, 16, 16, requires_grad=True)
    for row, col in ((5, 6), (0, 15)):
        (blind,) = torch.autograd.grad(model.denoise(image)[0, 0, row, col], image)
        (single,) = torch.autograd.grad(network(image)[0, 0, row, col], image)
        assert blind[0, 0, row, col] == 0 and single[0, 0, row, col] != 0
        assert blind[0, 0, row, col + (1 if col < 15 else -1)] != 0
    with torch.no_grad():
        assert torch.equal(model.denoise(image), j_invariant_reconstruction(network, image, 4))
    assert "reassembles 16 passes" in model.exported_network()[1]
    with pytest.raises(ValueError, match="inference_grid"):
        Noise2Void(network, inference="j_invariant", inference_grid=1)
    with pytest.raises(ValueError, match="inference"):
        Noise2Void(network, inference="blind")
