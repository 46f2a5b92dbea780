"""Cross-cutting training hooks."""

from callbacks.config_saver import SaveConfigBesideCheckpoints
from callbacks.image_panel import WandbImagePanel

__all__ = ["SaveConfigBesideCheckpoints", "WandbImagePanel"]
