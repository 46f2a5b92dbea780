"""Geometric self-ensemble at inference (Timofte, Rothe, Van Gool, CVPR 2016, "Seven ways to improve
example-based single image super resolution", Sec. 3.1; the "+" models of Lim et al., EDSR, CVPR-W 2017):
the denoiser is applied to the 8 rotations and flips of the image (the dihedral group of the square),
each output is transformed back, and the 8 are averaged. The mean is exactly equivariant to those
transforms whatever the network learnt, and averages out part of its estimation error; it assumes the
noise statistics do not change under the transforms (true for white noise and for the near-isotropic
correlation of camera noise; not for noise correlated along one axis only, where a 90-degree rotation
shows the network noise it never saw)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

TRANSFORMS = 8


def dihedral(image: Tensor, index: int) -> Tensor:
    """Transform ``index`` (0-7) of the last two dimensions: rotation by (index mod 4) quarter turns, then a
    left-right flip for index >= 4."""
    rotated = image.rot90(index % 4, dims=(-2, -1))
    return rotated.flip(-1) if index >= 4 else rotated


def undo_dihedral(image: Tensor, index: int) -> Tensor:
    """The inverse of ``dihedral(., index)``."""
    unflipped = image.flip(-1) if index >= 4 else image
    return unflipped.rot90(-(index % 4), dims=(-2, -1))


def self_ensemble(denoise: Callable[[Tensor, int], Tensor], image: Tensor) -> Tensor:
    """Mean over the 8 transforms of ``undo(denoise(transform(image), index))``; ``denoise`` also gets the
    transform's index (to transform whatever else it reads alongside the image)."""
    total = undo_dihedral(denoise(dihedral(image, 0), 0), 0)
    for index in range(1, TRANSFORMS):
        total = total + undo_dihedral(denoise(dihedral(image, index), index), index)
    return total / TRANSFORMS
