"""Method-agnostic data: every DataModule yields batches of the batch contract (see DESIGN)."""

from datamodules.base import DenoisingDataModule
from datamodules.folder import ImageFolder
from datamodules.samples import SampleImages

__all__ = ["DenoisingDataModule", "ImageFolder", "SampleImages"]
