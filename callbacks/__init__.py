"""Cross-cutting training hooks."""

from callbacks.config_saver import SaveConfigBesideCheckpoints
from callbacks.image_panel import WandbImagePanel
from callbacks.prediction_writer import DenoisedImageWriter

__all__ = ["DenoisedImageWriter", "SaveConfigBesideCheckpoints", "WandbImagePanel"]
