"""The training/evaluation sampler that hands each dataset index its epoch, so that randomness is a
pure function of (seed, epoch, index) (``core.seeding``)."""

from __future__ import annotations

from collections.abc import Iterator, Sized

from torch.utils.data import DistributedSampler


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
