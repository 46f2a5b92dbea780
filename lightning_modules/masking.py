"""Pure functions of Noise2Self's grid masking (Batson & Royer, ICML 2019; czbiohub-sf/noise2self
``mask.py``): which pixels a phase hides, what replaces them, the masked loss, and the
J-invariant reconstruction."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

REPLACEMENTS = ("interpolate", "zero")

# the reference code's interpolation: the 8 neighbours, edge ones weighted 1, corner ones 0.5, centre 0
_INTERPOLATION_KERNEL = torch.tensor([[0.5, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.5]]) / 6.0


def grid_mask(height: int, width: int, grid: int, phase: int, device=None) -> Tensor:
    """[1, 1, H, W] float mask of phase ``phase`` in [0, grid^2): pixels (r, c) with
    ``r % grid == phase % grid`` and ``c % grid == (phase // grid) % grid``."""
    rows = torch.arange(height, device=device)[:, None]
    cols = torch.arange(width, device=device)[None, :]
    hit = (rows % grid == phase % grid) & (cols % grid == (phase // grid) % grid)
    return hit.float()[None, None]


def interpolate(image: Tensor) -> Tensor:
    """Each pixel replaced by the weighted mean of its 8 neighbours, per channel (zero padding, as the
    reference code's ``conv2d(padding=1)``)."""
    channels = image.shape[1]
    kernel = _INTERPOLATION_KERNEL.to(image).expand(channels, 1, 3, 3)
    return F.conv2d(image, kernel, padding=1, groups=channels)


def mask_input(image: Tensor, mask: Tensor, replacement: str = "interpolate") -> Tensor:
    """Hide the masked pixels of [B, C, H, W] ``image``: replace them by ``interpolate`` or by zero."""
    if replacement == "interpolate":
        return interpolate(image) * mask + image * (1 - mask)
    if replacement == "zero":
        return image * (1 - mask)
    raise ValueError(f"replacement must be one of {REPLACEMENTS}, got {replacement!r}")


def masked_mse(prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over the masked pixels only (all channels of each masked pixel)."""
    mask = mask.expand_as(prediction)
    return ((prediction - target) ** 2 * mask).sum() / mask.sum()


def j_invariant_reconstruction(
    network: Callable[[Tensor], Tensor], image: Tensor, grid: int, replacement: str = "interpolate"
) -> Tensor:
    """Sum over all grid^2 phases of ``network(mask_i(image)) * mask_i``: every output pixel comes from
    a pass in which its own input pixel was hidden, so the output at j never depends on the input at j."""
    height, width = image.shape[-2:]
    output = torch.zeros_like(image)
    for phase in range(grid * grid):
        mask = grid_mask(height, width, grid, phase, image.device)
        output = output + network(mask_input(image, mask, replacement)) * mask
    return output


# ---- Noise2Void: scattered blind spots --------------------------------------------------------


def stratified_coordinates(
    batch: int, height: int, width: int, fraction: float, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Pick about ``fraction`` of the pixels of each image, one uniformly inside every box of a grid
    of side ``round(1 / sqrt(fraction))`` (the stratified sampling of the N2V and CAREamics code), so
    blind spots are spread evenly. Returns flat (image, row, column) index tensors."""
    box = max(1, round(fraction**-0.5))
    # a patch smaller than one box still gets one blind spot (the box shrinks to the patch)
    box_r, box_c = min(box, height), min(box, width)
    rows, cols = -(-height // box_r), -(-width // box_c)
    device = generator.device
    r = torch.randint(box_r, (batch, rows, cols), generator=generator, device=device)
    c = torch.randint(box_c, (batch, rows, cols), generator=generator, device=device)
    r = r + box_r * torch.arange(rows, device=device)[:, None]
    c = c + box_c * torch.arange(cols, device=device)
    b = torch.arange(batch, device=device)[:, None, None].expand(batch, rows, cols)
    keep = (r < height) & (c < width)
    return b[keep], r[keep], c[keep]


def neighbour_offsets(radius: int = 2, device=None) -> Tensor:
    """All (dy, dx) in the (2 radius + 1)^2 window except (0, 0): shape [(2r+1)^2 - 1, 2]."""
    span = torch.arange(-radius, radius + 1, device=device)
    grid = torch.stack(torch.meshgrid(span, span, indexing="ij"), dim=-1).reshape(-1, 2)
    return grid[(grid != 0).any(dim=1)]


def _step(index: Tensor, offset: Tensor, size: int) -> Tensor:
    """``index + offset``, or ``index - offset`` where that would leave the image: mirroring the
    offset (not the coordinate) keeps the result off the original pixel."""
    moved = index + offset
    return torch.where((moved < 0) | (moved >= size), index - offset, moved)


def n2v_manipulate(
    noisy: Tensor, fraction: float, generator: torch.Generator, radius: int = 2, replacement: str = "uniform"
) -> tuple[Tensor, Tensor]:
    """Noise2Void's input manipulation (Krull et al. CVPR 2019, Sec. 3.2; N2V2, Hoeck et al. 2022).

    Picks ~``fraction`` of the pixels (stratified) and replaces each, in all channels, by ``uniform``:
    the value of a neighbour drawn uniformly from the window without the centre, or ``median``: the
    per-channel median of the window without the centre (N2V2). Returns the manipulated image and
    the [B, 1, H, W] mask of the picked pixels (the loss mask: picked, not "changed").
    """
    batch, channels, height, width = noisy.shape
    b, r, c = stratified_coordinates(batch, height, width, fraction, generator)
    offsets = neighbour_offsets(radius, noisy.device)
    if replacement == "uniform":
        choice = torch.randint(len(offsets), (len(b),), generator=generator, device=generator.device).to(noisy.device)
        rr = _step(r, offsets[choice, 0], height)
        cc = _step(c, offsets[choice, 1], width)
        values = noisy[b, :, rr, cc]  # [N, C]
    elif replacement == "median":
        rr = _step(r[:, None], offsets[None, :, 0], height)
        cc = _step(c[:, None], offsets[None, :, 1], width)
        values = noisy[b[:, None], :, rr, cc].median(dim=1).values  # [N, 24, C] -> [N, C]
    else:
        raise ValueError(f"replacement must be 'uniform' or 'median', got {replacement!r}")
    manipulated = noisy.clone()
    manipulated[b, :, r, c] = values
    mask = torch.zeros(batch, 1, height, width, device=noisy.device, dtype=noisy.dtype)
    mask[b, 0, r, c] = 1.0
    return manipulated, mask
