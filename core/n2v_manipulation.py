"""Noise2Void's input manipulation (Krull, Buchholz, Jug, CVPR 2019, Sec. 3.2; N2V2, Hoeck et al.
2022): a few stratified pixels are hidden by replacing each with a neighbour (or the neighbourhood
median), and the loss is taken on those pixels only (``core.masking.masked_mse``)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Replacement = Literal["uniform", "median"]
StructAxis = Literal["horizontal", "vertical"]


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
    noisy: Tensor,
    fraction: float,
    generator: torch.Generator,
    radius: int = 2,
    replacement: str = "uniform",
    struct_length: int = 1,
    struct_axis: StructAxis = "horizontal",
) -> tuple[Tensor, Tensor]:
    """Noise2Void's input manipulation (Krull et al. CVPR 2019, Sec. 3.2; N2V2, Hoeck et al. 2022).

    Picks ~``fraction`` of the pixels (stratified) and replaces each, in all channels, by ``uniform``:
    the value of a neighbour drawn uniformly from the window without the centre, or ``median``: the
    per-channel median of the window without the centre (N2V2). Returns the manipulated image and
    the [B, 1, H, W] mask of the picked pixels (the loss mask: picked, not "changed").

    structN2V (Broaddus, Krull, Weigert, Schmidt, Myers, ISBI 2020): with ``struct_length`` > 1 the
    blind spot is a line of that many pixels centred on the picked one, along ``struct_axis``: noise
    correlated along rows (or columns) would otherwise let the network read the hidden pixel's noise
    from its neighbours on the line. The other pixels of the line get random values, uniform between
    the image's minimum and maximum (the structN2V code draws uniform values over the range of its
    normalised data), and the centre's replacement is drawn from the window without the line, so no
    original value from the line reaches the input. The loss stays on the picked pixels.
    """
    batch, channels, height, width = noisy.shape
    b, r, c = stratified_coordinates(batch, height, width, fraction, generator)
    offsets = neighbour_offsets(radius, noisy.device)
    line = _line_offsets(struct_length, struct_axis, noisy.device)
    if len(line):  # the centre's replacement comes from off the line
        on_line = ((offsets[:, None, :] == line[None, :, :]).all(dim=-1)).any(dim=1)
        offsets = offsets[~on_line]
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
    if len(line):
        _hide_lines(manipulated, noisy, b, r, c, line, generator)
    mask = torch.zeros(batch, 1, height, width, device=noisy.device, dtype=noisy.dtype)
    mask[b, 0, r, c] = 1.0
    return manipulated, mask


def _line_offsets(length: int, axis: str, device=None) -> Tensor:
    """The (dy, dx) offsets of a centred line of ``length`` pixels, without the centre: [length - 1, 2]."""
    if length < 1 or length % 2 == 0:
        raise ValueError(f"struct_length must be an odd number >= 1 (the line is centred), got {length}")
    if axis not in ("horizontal", "vertical"):
        raise ValueError(f"struct_axis must be 'horizontal' or 'vertical', got {axis!r}")
    span = torch.arange(-(length // 2), length // 2 + 1, device=device)
    span = span[span != 0]
    zeros = torch.zeros_like(span)
    return torch.stack([zeros, span] if axis == "horizontal" else [span, zeros], dim=1)


def _hide_lines(manipulated: Tensor, noisy: Tensor, b: Tensor, r: Tensor, c: Tensor, line: Tensor,
                generator: torch.Generator) -> None:  # fmt: skip
    """Give the line pixels of each picked pixel uniform random values in each image's range (in place)."""
    height, width = noisy.shape[-2:]
    rr, cc = r[:, None] + line[None, :, 0], c[:, None] + line[None, :, 1]
    inside = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
    bb = b[:, None].expand_as(rr)[inside]
    rr, cc = rr[inside], cc[inside]
    # the range is a constant of the draw: no gradient reaches the image's extreme pixels through it
    low = noisy.detach().amin(dim=(1, 2, 3))[bb]
    high = noisy.detach().amax(dim=(1, 2, 3))[bb]
    draw = torch.rand(len(bb), noisy.shape[1], generator=generator, device=generator.device).to(noisy)
    manipulated[bb, :, rr, cc] = low[:, None] + draw * (high - low)[:, None]
