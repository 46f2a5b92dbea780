"""Method-agnostic data: every DataModule yields batches of the batch contract (see DESIGN)."""

from datamodules.base import DenoisingDataModule
from datamodules.bsd import BSD
from datamodules.folder import ImageFolder
from datamodules.mnist import MNIST
from datamodules.paired_folder import PairedFolder
from datamodules.samples import SampleImages
from datamodules.sidd import SIDD

__all__ = ["BSD", "MNIST", "SIDD", "DenoisingDataModule", "ImageFolder", "PairedFolder", "SampleImages"]
