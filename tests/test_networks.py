import pytest
import torch

from networks import DnCNN, UNet


@pytest.mark.parametrize("size", [(32, 32), (37, 50), (7, 9), (1, 1)])
@pytest.mark.parametrize("depth", [1, 3])
def test_unet_keeps_any_input_size(size, depth):
    net = UNet(in_channels=3, depth=depth, width=4)
    x = torch.rand(2, 3, *size)
    assert net(x).shape == x.shape


def test_unet_output_channels_and_residual():
    assert UNet(in_channels=1, out_channels=2, depth=2, width=4)(torch.rand(1, 1, 20, 20)).shape == (1, 2, 20, 20)
    net = UNet(in_channels=1, depth=2, width=4, residual=True)
    torch.nn.init.zeros_(net.head.weight)
    torch.nn.init.zeros_(net.head.bias)
    x = torch.rand(1, 1, 20, 20)
    assert torch.equal(net(x), x)  # a zero head makes the residual net the identity


def test_unet_pads_instead_of_cropping_content():
    """Changing a pixel in the last row/column (the part beyond the 2^depth grid) changes the output."""
    net = UNet(depth=3, width=4).eval()
    x = torch.rand(1, 1, 19, 21)
    y = x.clone()
    y[..., -1, -1] += 1.0
    assert not torch.allclose(net(x)[..., -1, -1], net(y)[..., -1, -1])


def test_dncnn_residual_subtracts_the_predicted_noise():
    net = DnCNN(in_channels=1, depth=5, width=8, residual=True).eval()
    x = torch.rand(1, 1, 16, 16)
    assert torch.allclose(net(x), x - net.layers(x))
    plain = DnCNN(in_channels=3, depth=5, width=8, residual=False, batch_norm=False)
    assert plain(torch.rand(2, 3, 9, 11)).shape == (2, 3, 9, 11)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in plain.modules()) == 5


def test_dncnn_kaiming_init_keeps_the_signal_scale_and_starts_batch_norm_small():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 40, 40)

    def last_hidden_std(net: DnCNN) -> float:
        return net.layers[:-1](x).std().item()  # the activations the last convolution reads

    kaiming, default = DnCNN(1, batch_norm=False, init="kaiming"), DnCNN(1, batch_norm=False)
    assert 0.2 < last_hidden_std(kaiming) < 5.0 * x.std().item()  # He initialisation: the scale survives 17 layers
    assert last_hidden_std(default) < 0.1 * last_hidden_std(kaiming)  # PyTorch's default shrinks it
    conv = kaiming.layers[2]
    assert conv.weight.std().item() == pytest.approx((2.0 / (9 * 64)) ** 0.5, rel=0.05)
    with_norm = DnCNN(1, init="kaiming")
    norms = [m for m in with_norm.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(m.weight.abs().max() <= 0.025 and not m.bias.any() for m in norms)
    assert len({round(v, 4) for v in norms[0].weight.tolist()}) > 2  # drawn, not one constant
    with pytest.raises(ValueError, match="init"):
        DnCNN(init="xavier")


def test_invalid_network_settings_are_rejected():
    with pytest.raises(ValueError, match="depth"):
        DnCNN(depth=1)
    with pytest.raises(ValueError, match="out_channels"):
        UNet(in_channels=1, out_channels=3, residual=True)


def test_n2v2_unet_blur_pooling_and_no_top_skip():
    plain = UNet(depth=2, width=4)
    n2v2 = UNet(depth=2, width=4, pooling="blur", top_skip=False)
    x = torch.rand(2, 1, 21, 30)
    assert n2v2(x).shape == x.shape
    # the top decoder takes only the upsampled features (4 channels), not those plus the skip (8)
    assert n2v2.decoders[-1][0].in_channels == 4 and plain.decoders[-1][0].in_channels == 8
    constant = torch.full((1, 3, 8, 8), 2.0)
    assert torch.allclose(n2v2.pools[0].__class__(3)(constant), torch.full((1, 3, 4, 4), 2.0))  # blur keeps flat


def _csbdeep_unet_parameters(depth: int, width: int, channels: int = 1) -> int:
    """Parameters of CSBDeep's ``unet_block`` (two 3x3 convolutions with batch norm per level, the
    second of the middle and of each up level at the width of the level above) plus the 1x1 head,
    counted from its layer list rather than from our module."""
    widths = [width * 2**level for level in range(depth + 1)]

    def conv(c_in, c_out):  # 3x3 weights and bias, batch norm scale and shift
        return 9 * c_in * c_out + c_out + 2 * c_out

    total, c_in = 0, channels
    for level in range(depth):
        total += conv(c_in, widths[level]) + conv(widths[level], widths[level])
        c_in = widths[level]
    total += conv(c_in, widths[depth]) + conv(widths[depth], widths[depth - 1])
    c_in = widths[depth - 1]
    for level in reversed(range(depth)):
        total += conv(c_in + widths[level], widths[level]) + conv(widths[level], widths[max(0, level - 1)])
        c_in = widths[max(0, level - 1)]
    return total + c_in * channels + channels


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_csbdeep_layout_is_noise2voids_unet(depth):
    net = UNet(in_channels=1, depth=depth, width=8, batch_norm=True, layout="csbdeep", activation="relu")
    assert sum(p.numel() for p in net.parameters()) == _csbdeep_unet_parameters(depth, 8)
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in net.modules())
    x = torch.rand(2, 1, 21, 30)
    assert net(x).shape == x.shape
    # the upsampling is plain repetition: no 1x1 or transposed convolution between levels
    assert all(isinstance(up, torch.nn.Upsample) for up in net.upsamplers)
    n2v2 = UNet(depth=depth, width=8, layout="csbdeep", pooling="blur", top_skip=False)
    assert n2v2(x).shape == x.shape and n2v2.decoders[-1][0].in_channels == 8


@pytest.mark.parametrize("layout", ["csbdeep", "symmetric"])
def test_bilinear_upsampling_has_the_same_weights_and_interpolates(layout):
    torch.manual_seed(0)
    nearest = UNet(depth=2, width=8, layout=layout).eval()
    bilinear = UNet(depth=2, width=8, layout=layout, upsampling="bilinear").eval()
    bilinear.load_state_dict(nearest.state_dict())  # same parameters, same keys
    modes = {m.mode for m in bilinear.modules() if isinstance(m, torch.nn.Upsample)}
    assert modes == {"bilinear"}
    x = torch.rand(1, 1, 20, 28)
    assert bilinear(x).shape == x.shape and not torch.allclose(bilinear(x), nearest(x))


def test_csbdeep_layout_refuses_transposed_upsampling():
    with pytest.raises(ValueError, match="upsampling: nearest"):
        UNet(layout="csbdeep", upsampling="transpose")
    with pytest.raises(ValueError, match="layout"):
        UNet(layout="symmetrical")
