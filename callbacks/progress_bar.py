"""The progress bar ``train.py`` uses: Lightning's TQDM bar, redrawn at most every ``interval`` seconds.

Lightning's bar redraws after every batch: it reads every progress-bar metric from the result
collection and writes the line to the terminal twice (count, then metrics), whatever tqdm's own
``mininterval`` says. That is host time each training step waits on; with a network small or a GPU
fast enough that a step takes a few milliseconds it is a sizeable share of the step
(``python -m benchmarks.throughput --network tiny --variants plain,train_py,train_py_lightning_bar,train_py_no_bar``
measures it). Redrawing on a clock keeps the bar live for a person and costs a clock read per batch.
"""

from __future__ import annotations

import time

from pytorch_lightning.callbacks import TQDMProgressBar


class ThrottledProgressBar(TQDMProgressBar):
    """Args:
    interval: seconds between redraws of a bar (each bar is also drawn at its last batch).
    **kwargs: ``TQDMProgressBar``'s (``refresh_rate`` 0 turns the bars off).
    """

    def __init__(self, interval: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval}")
        self.interval = interval
        self._drawn_at = float("-inf")

    def _should_update(self, current: int, total: int) -> bool:
        if not self.is_enabled:
            return False
        now = time.monotonic()
        if current == total or now - self._drawn_at >= self.interval:
            self._drawn_at = now
            return True
        return False
