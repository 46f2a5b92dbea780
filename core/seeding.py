"""Randomness as a pure function of (seed, epoch, index), so results do not depend on the number of
data-loader workers and a resumed run draws exactly what an uninterrupted run would have drawn."""

from __future__ import annotations

import hashlib
import struct

import torch

TRAIN, VAL, TEST, FIXED_TRAIN_NOISE = range(4)


def derive_seed(*keys: int) -> int:
    """A well-mixed 63-bit seed from a tuple of non-negative integers: the BLAKE2b hash of the keys.

    Called once or twice per training step, so it is cheap (about a microsecond, where building a
    numpy SeedSequence takes tens); any two distinct key tuples give unrelated seeds."""
    packed = struct.pack(f"<{len(keys)}Q", *(int(k) for k in keys))
    return int.from_bytes(hashlib.blake2b(packed, digest_size=8, person=b"ssdenoise").digest(), "little") >> 1


def derive_generator(*keys: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*keys))
