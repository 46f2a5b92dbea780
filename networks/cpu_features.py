"""What the running CPU computes natively, for choosing (or warning about) reduced-precision paths."""

from __future__ import annotations

import warnings

import torch


def cpu_has_bfloat16_units() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); elsewhere oneDNN emulates it."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def warn_if_bfloat16_is_emulated(what: str, stacklevel: int = 3) -> None:
    """Warn that ``what`` runs bfloat16 on a CPU that only emulates it (typically several times slower)."""
    if not cpu_has_bfloat16_units():
        warnings.warn(
            f"{what}: this CPU has no bfloat16 units (AVX512-BF16 or AMX), so bfloat16 is emulated and likely "
            "slower than float32 (precision '32')",
            stacklevel=stacklevel,
        )
