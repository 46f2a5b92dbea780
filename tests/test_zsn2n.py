"""Zero-Shot Noise2Noise: the pair downsampler, the loss, and batched fitting equal to one-by-one."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.losses import zsn2n_loss
from core.metrics import per_image_psnr
from core.subsampling import pair_downsample
from denoise import main as denoise_main
from networks.zsn2n import ZSN2NNet
from tests.conftest import smooth_image
from zero_shot import zsn2n
from zero_shot.zsn2n import fit, fit_many


def test_pair_downsampler_averages_the_two_diagonals_without_sharing_pixels():
    image = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    first, second = pair_downsample(image)
    block = image[0, 1, 2:4, 2:4]
    assert first[0, 1, 1, 1] == (block[0, 1] + block[1, 0]) / 2
    assert second[0, 1, 1, 1] == (block[0, 0] + block[1, 1]) / 2
    x = torch.rand(1, 1, 4, 4, requires_grad=True)
    a, b = pair_downsample(x)
    (grad_a,) = torch.autograd.grad(a.sum(), x)
    (grad_b,) = torch.autograd.grad(b.sum(), x)
    assert torch.all((grad_a != 0) ^ (grad_b != 0))  # every input pixel feeds exactly one half
    assert pair_downsample(torch.rand(1, 3, 7, 9))[0].shape == (1, 3, 3, 4)  # odd sizes work


@pytest.mark.parametrize("shape", [(1, 3, 7, 9), (2, 1, 16, 10)])
def test_pair_downsampler_equals_the_papers_two_depthwise_convolutions(shape):
    image = torch.rand(shape)
    channels = shape[1]
    filters = [torch.tensor([[0.0, 0.5], [0.5, 0.0]]), torch.tensor([[0.5, 0.0], [0.0, 0.5]])]
    expected = [F.conv2d(image, f.expand(channels, 1, 2, 2), stride=2, groups=channels) for f in filters]
    for half, reference in zip(pair_downsample(image), expected, strict=True):
        assert torch.equal(half, reference)


def test_loss_is_the_papers_residual_plus_consistency():
    torch.manual_seed(0)
    net = ZSN2NNet(1)
    y = torch.rand(1, 1, 16, 16)
    d1, d2 = pair_downsample(y)
    p1, p2 = d1 - net(d1), d2 - net(d2)
    dd1, dd2 = pair_downsample(y - net(y))
    expected = 0.5 * (F.mse_loss(d1, p2) + F.mse_loss(d2, p1)) + 0.5 * (F.mse_loss(p1, dd1) + F.mse_loss(p2, dd2))
    assert zsn2n_loss(net, y).item() == pytest.approx(expected.item(), rel=1e-6)


def test_fitting_several_images_at_once_equals_fitting_them_one_by_one():
    images = torch.rand(3, 1, 16, 20, generator=torch.Generator().manual_seed(1))
    together = fit_many(images, iterations=25, seed=4, progress=False)
    for k in range(3):
        alone = fit(images[k], iterations=25, seed=4 + k, progress=False)
        torch.testing.assert_close(together[k], alone, rtol=1e-4, atol=1e-5)


def test_fit_denoises_and_handles_odd_sizes():
    rng = np.random.default_rng(0)
    clean = torch.from_numpy(smooth_image(rng, 63, 65) / 255.0).float()[None]
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    denoised = fit(noisy, iterations=300, progress=False)
    assert denoised.shape == noisy.shape and denoised.min() >= 0 and denoised.max() <= 1
    assert per_image_psnr(denoised[None], clean[None]) > per_image_psnr(noisy[None], clean[None]) + 3


def test_denoise_cli_runs_zsn2n(tmp_path):
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "x.png", (np.random.default_rng(1).random((20, 24)) * 255).astype(np.uint8))
    rows = denoise_main(["--method", "zsn2n", str(tmp_path / "x.png"), "--output", str(tmp_path / "out"),
                         "--iterations", "5"])  # fmt: skip
    assert rows[0]["image"] == "x.png" and (tmp_path / "out" / "x.png").is_file()


def test_denoise_cli_passes_the_precision_to_zsn2n_only(tmp_path, monkeypatch):
    import imageio.v3 as iio

    import zero_shot.zsn2n

    iio.imwrite(tmp_path / "x.png", (np.random.default_rng(1).random((20, 24)) * 255).astype(np.uint8))
    seen = []
    real_fit_many = zero_shot.zsn2n.fit_many
    monkeypatch.setattr(
        zero_shot.zsn2n, "fit_many", lambda *a, **k: seen.append(k["precision"]) or real_fit_many(*a, **k)
    )
    denoise_main(["--method", "zsn2n", str(tmp_path / "x.png"), "--output", str(tmp_path / "out"),
                  "--iterations", "3", "--precision", "bf16-mixed"])  # fmt: skip
    assert seen == ["bf16-mixed"]
    with pytest.raises(SystemExit):
        denoise_main(
            ["--method", "inr", str(tmp_path / "x.png"), "--output", str(tmp_path / "o"), "--precision", "bf16-mixed"]
        )


def test_neighbour_subsampler_picks_two_adjacent_distinct_pixels_per_cell():
    from core.subsampling import neighbour_subsample

    image = torch.arange(4 * 6, dtype=torch.float32).reshape(1, 1, 4, 6).repeat(1, 2, 1, 1)
    first, second, choice = neighbour_subsample(image, torch.Generator().manual_seed(0))
    assert first.shape == (1, 2, 2, 3)
    for i in range(2):
        for j in range(3):
            a, b = int(first[0, 0, i, j]), int(second[0, 0, i, j])
            (ra, ca), (rb, cb) = divmod(a, 6), divmod(b, 6)
            assert (ra // 2, ca // 2) == (i, j) == (rb // 2, cb // 2)  # both from cell (i, j)
            assert abs(ra - rb) + abs(ca - cb) == 1  # edge-adjacent, never the same pixel
    torch.testing.assert_close(first[0, 0], first[0, 1])  # all channels alike
    counts = torch.bincount(
        neighbour_subsample(torch.rand(1, 1, 200, 200), torch.Generator().manual_seed(1))[2].flatten()
    )
    assert counts.min() > 0.8 * counts.float().mean()  # the 8 pairs are drawn uniformly


def test_neighbor2neighbor_loss_matches_the_paper():
    from core.subsampling import neighbour_subsample, subsample_like
    from lightning_modules import Neighbor2Neighbor
    from networks import UNet

    net = UNet(depth=1, width=4)
    model = Neighbor2Neighbor(net, gamma=2.0, ramp_gamma=False)
    y = torch.rand(2, 1, 16, 16)
    loss = model.training_loss({"noisy": y}, torch.Generator().manual_seed(3))
    g1, g2, choice = neighbour_subsample(y, torch.Generator().manual_seed(3))
    f1, f2 = subsample_like(net(y).detach(), choice)
    diff = net(g1) - g2
    expected = (diff**2).mean() + 2.0 * ((diff - (f1 - f2)) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_grouped_packing_gives_the_same_fits_as_threads():
    """The GPU path (one grouped model for all images) run on the CPU against the threaded CPU path."""
    from zero_shot.zsn2n import _fit_grouped, _initial_network

    images = torch.rand(2, 3, 12, 14, generator=torch.Generator().manual_seed(2))
    threaded = fit_many(images, iterations=15, seed=7, progress=False, workers=2, cpu_path="fast")
    singles = [_initial_network(3, 7 + k) for k in range(2)]
    grouped = _fit_grouped(singles, images, 15, 1e-3, 1500, 0.5, lambda n: None)
    torch.testing.assert_close(grouped, threaded, rtol=1e-4, atol=1e-5)


def test_a_failing_fit_in_a_worker_thread_reaches_the_caller():
    with pytest.raises(ValueError, match="learning rate"):
        fit_many(torch.rand(2, 1, 8, 8), iterations=2, lr=-1.0, progress=False, workers=2, cpu_path="fast")


def test_fit_many_takes_one_seed_per_image():
    images = torch.rand(2, 1, 8, 8)
    same = fit_many(images[[0, 0]], iterations=3, seeds=[5, 5], progress=False)
    torch.testing.assert_close(same[0], same[1])  # same image, same seed: same result
    with pytest.raises(ValueError, match="one seed per image"):
        fit_many(images, iterations=1, seeds=[1], progress=False)


def test_bf16_mixed_fit_denoises_like_the_float32_fit():
    rng = np.random.default_rng(0)
    clean = torch.from_numpy(smooth_image(rng, 48, 40) / 255.0).float()[None]
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    float32 = fit(noisy, iterations=200, progress=False)
    bf16 = fit(noisy, iterations=200, progress=False, precision="bf16-mixed")
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, float32)
    psnr_float32, psnr_bf16 = (per_image_psnr(d[None], clean[None]).item() for d in (float32, bf16))
    assert psnr_bf16 > per_image_psnr(noisy[None], clean[None]).item() + 3
    assert abs(psnr_bf16 - psnr_float32) < 0.2


def test_an_unknown_precision_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="bf16-mixed"):
        fit(torch.rand(1, 8, 8), iterations=1, progress=False, precision="16")


@pytest.mark.parametrize("native", [True, False])
def test_bf16_mixed_warns_where_the_cpu_only_emulates_bfloat16(monkeypatch, native):
    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, check, lambda: native, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(torch.rand(1, 8, 8), iterations=1, progress=False, precision="bf16-mixed")
        fit(torch.rand(1, 8, 8), iterations=1, progress=False)
    emulated = [w for w in caught if "no bfloat16 units" in str(w.message)]
    assert len(emulated) == (0 if native else 1)


def test_the_plain_path_is_the_papers_loop_and_the_fast_path_matches_it():
    images = torch.rand(2, 3, 16, 18, generator=torch.Generator().manual_seed(6))
    plain = fit_many(images, iterations=12, seed=2, progress=False, cpu_path="plain")
    for k in range(2):  # the paper's loop written out: Adam, StepLR, the loss, clamp(y - f(y))
        torch.manual_seed(2 + k)
        network = ZSN2NNet(3)
        optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
        for _ in range(12):
            optimizer.zero_grad()
            zsn2n_loss(network, images[k : k + 1]).backward()
            optimizer.step()
        with torch.no_grad():
            assert torch.equal(plain[k], (images[k] - network(images[k : k + 1])[0]).clamp(0, 1))
    fast = fit_many(images, iterations=12, seed=2, progress=False, cpu_path="fast")
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("faster", ["plain", "fast"])
def test_auto_takes_the_path_measured_faster_once_per_image_size(monkeypatch, faster):
    measured, used = [], []
    monkeypatch.setattr(zsn2n, "_MEASURED", {})

    def measure(network, images, workers=None):
        measured.append(tuple(images.shape))
        return {"plain": 1.0, "fast": 0.5 if faster == "fast" else 2.0}

    real_fast = zsn2n.fast_cpu.fit_images
    monkeypatch.setattr(zsn2n.fast_cpu, "measure_paths", measure)
    monkeypatch.setattr(zsn2n.fast_cpu, "fit_images", lambda *a, **k: used.append("fast") or real_fast(*a, **k))
    for size in (12, 12, 14):
        fit(torch.rand(1, size, size), iterations=2, progress=False)
    assert measured == [(1, 1, 12, 12), (1, 1, 14, 14)]  # the second 12x12 image reused the measurement
    assert used == (["fast"] * 3 if faster == "fast" else [])


def test_measure_paths_times_both_paths_without_touching_the_network():
    network = ZSN2NNet(1)
    before = {name: value.clone() for name, value in network.state_dict().items()}
    seconds = zsn2n.fast_cpu.measure_paths(network, torch.rand(1, 1, 16, 16), iterations=2, rounds=1)
    assert set(seconds) == {"plain", "fast"} and all(s > 0 for s in seconds.values())
    assert all(torch.equal(before[name], value) for name, value in network.state_dict().items())


@pytest.mark.parametrize(
    ("max_epochs", "max_steps", "epoch", "step", "expected"),
    [
        (10, -1, 5, 999, 1.0),  # epoch-bounded: the official ramp, epoch / n_epoch * gamma
        (-1, 200, 0, 0, 0.0),  # step-bounded (the suite): ramps over the steps
        (-1, 200, 7, 150, 1.5),
        (100, 200, 1, 100, 1.0),  # both: whichever ends the run first
        (-1, -1, 3, 30, 2.0),  # unbounded: no ramp to follow
    ],
)
def test_neighbor2neighbor_gamma_ramps_over_the_training(max_epochs, max_steps, epoch, step, expected):
    from types import SimpleNamespace

    from lightning_modules import Neighbor2Neighbor
    from networks import UNet

    model = Neighbor2Neighbor(UNet(depth=1, width=4), gamma=2.0)
    model._trainer = SimpleNamespace(max_epochs=max_epochs, max_steps=max_steps, current_epoch=epoch, global_step=step)
    assert model.current_gamma() == pytest.approx(expected)
    assert Neighbor2Neighbor(UNet(depth=1, width=4), gamma=2.0, ramp_gamma=False).current_gamma() == 2.0
