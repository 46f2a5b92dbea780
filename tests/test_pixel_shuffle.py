"""Pixel-shuffle downsampling (AP-BSN) and its use by the blind-spot methods."""

from __future__ import annotations

import pytest
import torch

from core.pixel_shuffle import pd_merge, pd_split, random_replacing_refinement
from lightning_modules import BlindSpot, Noise2Self, Noise2Void
from lightning_modules.pixel_shuffle import pd_batch
from networks import BlindSpotUNet, UNet


@pytest.mark.parametrize("shape", [(2, 3, 20, 15), (1, 1, 7, 9), (1, 1, 10, 10)])
@pytest.mark.parametrize("stride", [1, 2, 3, 5])
def test_pd_then_its_inverse_is_the_identity(shape, stride):
    image = torch.rand(shape)
    sub = pd_split(image, stride)
    assert sub.shape[0] == shape[0] * stride**2
    assert torch.equal(pd_merge(sub, stride, *shape[-2:]), image)


def test_a_sub_image_holds_pixels_stride_apart():
    image = torch.arange(36.0).reshape(1, 1, 6, 6)
    sub = pd_split(image, 3)  # sub-image (i, j) = pixels (i + 3r, j + 3c)
    assert sub.shape == (9, 1, 2, 2)
    assert sub[1 * 3 + 2, 0].tolist() == [[image[0, 0, 1, 2].item(), image[0, 0, 1, 5].item()],
                                          [image[0, 0, 4, 2].item(), image[0, 0, 4, 5].item()]]  # fmt: skip


@pytest.mark.parametrize("stride", [2, 3])
def test_with_pd_the_blind_spot_output_ignores_the_whole_neighbourhood_of_its_pixel(stride):
    """Laine's network with PD at inference (prior mean): the output at p depends on no input pixel within
    stride - 1 of p in the original image, p included (those lie in other sub-images or are p itself)."""
    torch.manual_seed(0)
    method = BlindSpot(BlindSpotUNet(1, 2, width=8, decoder_width=8, depth=2), sigma=25, inference="prior",
                       pd_stride=stride).eval()  # fmt: skip
    size = 24
    image = torch.rand(1, 1, size, size, requires_grad=True)
    for r, c in [(9, 10), (0, 0), (size - 1, 5)]:
        (grad,) = torch.autograd.grad(method.denoise_stage(image)[0, 0, r, c], image)
        near = grad[0, 0, max(0, r - stride + 1) : r + stride, max(0, c - stride + 1) : c + stride]
        assert torch.all(near == 0), f"output ({r}, {c}) sees its own neighbourhood"
        assert grad.abs().sum() > 0
        # and it does see pixels of its own sub-image, stride away
        far = [(r + dr, c + dc) for dr, dc in ((stride, 0), (-stride, 0), (0, stride), (0, -stride))]
        assert any(grad[0, 0, rr, cc] != 0 for rr, cc in far if 0 <= rr < size and 0 <= cc < size)


def test_training_sees_the_sub_images_and_per_image_noise_levels_follow_them():
    batch = {"noisy": torch.rand(2, 1, 20, 20), "clean": torch.rand(2, 1, 20, 20), "sigma": torch.tensor([0.1, 0.2])}
    split = pd_batch(batch, 2)
    assert split["noisy"].shape == (8, 1, 10, 10) and split["sigma"].tolist() == pytest.approx([0.1] * 4 + [0.2] * 4)
    seen = []

    class Spy(Noise2Void):
        def training_loss(self, batch, generator=None):
            seen.append(batch["noisy"].shape)
            return super().training_loss(batch, generator)

    Spy(UNet(depth=1, width=4), pd_stride=2).training_step(batch, 0)
    assert seen == [torch.Size([8, 1, 10, 10])] and "clean" not in pd_batch(Spy(UNet(depth=1)).loss_view(batch), 2)


def test_r3_averages_passes_on_partly_noisy_images():
    noisy, denoised = torch.ones(1, 1, 50, 50), torch.zeros(1, 1, 50, 50)
    inputs = []

    def record(image):
        inputs.append(image.clone())
        return image

    out = random_replacing_refinement(record, noisy, denoised, passes=8, fraction=0.16,
                                      generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert len(inputs) == 8 and not torch.equal(inputs[0], inputs[1])  # fresh draws per pass
    assert all(0.12 < float(i.mean()) < 0.2 for i in inputs)  # about 16% put back to noisy
    torch.testing.assert_close(out, torch.stack(inputs).mean(0))


def test_noise2self_with_pd_and_r3_runs_end_to_end():
    model = Noise2Self(UNet(depth=1, width=4), mask_width=2, pd_stride=3, pd_stride_inference=2, r3_passes=2,
                       inference="j_invariant").eval()  # fmt: skip
    noisy = torch.rand(1, 1, 17, 19)
    model.setup("test")
    with torch.no_grad():
        assert model.denoise_stage(noisy).shape == noisy.shape


def _with_r3(method: str, **options):
    """A small model of ``method`` with PD and two R3 passes."""
    if method == "blindspot":
        return BlindSpot(BlindSpotUNet(1, 2, width=4, decoder_width=4, depth=1), sigma=25, pd_stride=2, r3_passes=2,
                         **options)  # fmt: skip
    if method == "n2s":
        return Noise2Self(UNet(depth=1, width=4), mask_width=2, pd_stride=2, r3_passes=2, **options)
    return Noise2Void(UNet(depth=1, width=4), pd_stride=2, r3_passes=2, **options)


@pytest.mark.parametrize(
    "make, blind",
    [
        (lambda: _with_r3("n2v"), False),
        (lambda: _with_r3("n2v", inference="j_invariant", inference_grid=2), True),
        (lambda: _with_r3("n2s"), False),
        (lambda: _with_r3("n2s", inference="j_invariant"), True),
        (lambda: _with_r3("blindspot"), False),
        (lambda: _with_r3("blindspot", inference="prior"), True),
    ],
)
def test_r3_is_refused_where_inference_reads_the_pixel_it_denoises(make, blind):
    # R3 puts the noisy value back into a random 16% of the pixels: an inference that reads the pixel it
    # denoises would copy that noise; the refusal comes before training or testing starts (setup)
    model = make().eval()
    assert model.blind_inference is blind
    noisy = torch.rand(1, 1, 12, 12)
    if blind:
        model.setup("fit")
        with torch.no_grad():
            assert model.denoise_stage(noisy).shape == noisy.shape
        return
    for call in (lambda: model.setup("fit"), lambda: model.denoise_stage(noisy)):
        with pytest.raises(ValueError, match="r3_passes: 0"):
            call()
    model.r3_passes = 0
    model.setup("fit")
    with pytest.raises(ValueError, match="pd_stride"):
        Noise2Void(UNet(depth=1), pd_stride=0)
