"""Cross-cutting training hooks."""

from callbacks.config_saver import SaveConfigBesideCheckpoints
from callbacks.image_panel import WandbImagePanel
from callbacks.prediction_writer import DenoisedImageWriter
from callbacks.test_results import TestResultsWriter

__all__ = ["DenoisedImageWriter", "SaveConfigBesideCheckpoints", "TestResultsWriter", "WandbImagePanel"]
