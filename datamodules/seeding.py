"""Randomness as a pure function of (seed, epoch, index), so results do not depend on the number of
data-loader workers and a resumed run draws exactly what an uninterrupted run would have drawn."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Sized

import torch
from torch.utils.data import DistributedSampler

TRAIN, VAL, TEST = range(3)


def derive_seed(*keys: int) -> int:
    """A well-mixed 63-bit seed from a tuple of non-negative integers: the BLAKE2b hash of the keys.

    Called once or twice per training step, so it is cheap (about a microsecond, where building a
    numpy SeedSequence takes tens); any two distinct key tuples give unrelated seeds."""
    packed = struct.pack(f"<{len(keys)}Q", *(int(k) for k in keys))
    return int.from_bytes(hashlib.blake2b(packed, digest_size=8, person=b"ssdenoise").digest(), "little") >> 1


def derive_generator(*keys: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*keys))


class EpochSampler(DistributedSampler):
    """Shuffles and shards like ``DistributedSampler`` but yields ``(epoch, index)`` pairs.

    The dataset receives the epoch with every index, so crops, augmentation and noise are fresh each
    epoch and reproducible from the epoch alone. Lightning calls ``set_epoch`` with the restored epoch
    on resume, and leaves a ``DistributedSampler`` subclass in place under DDP, so each rank sees its
    own shard.
    """

    def __init__(
        self, dataset: Sized, num_replicas: int = 1, rank: int = 0, shuffle: bool = True, seed: int = 0
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
        self._skip = 0

    def skip_next(self, count: int) -> None:
        """The next iteration starts ``count`` indices into the epoch (a run resumed mid-epoch)."""
        self._skip = count

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        epoch, skip, self._skip = self.epoch, self._skip, 0
        return ((epoch, index) for position, index in enumerate(super().__iter__()) if position >= skip)
