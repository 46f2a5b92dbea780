"""Base DataModule: random patches for training, whole images for val/test/predict.

Subclasses only say where images come from (``load_split``); cropping, augmentation, synthetic noise,
seeding, DDP sharding and the batch contract live here, so every dataset behaves the same.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

import pytorch_lightning as pl
import torch
from jsonargparse import lazy_instance
from torch.utils.data import DataLoader, Dataset

from core.choices import check_choice
from core.seeding import TEST, VAL
from datamodules.datasets import EvalImageDataset, NoiseDraws, TrainPatchDataset
from datamodules.device_batches import DeviceBatches
from datamodules.epoch_sampler import EpochSampler
from datamodules.sources import ImageFiles
from noise.models import Gaussian, NoiseModel

# Lightning warns that a mid-epoch resume with a loader lacking state_dict/load_state_dict repeats
# batches; these DataModules skip the batches already trained (``_batches_done_in_epoch``) instead
warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")

Split = tuple[Sequence, list[str]]  # a source of images (see datamodules.sources) and their names


class DenoisingDataModule(pl.LightningDataModule, ABC):
    """Args:
    noise: synthetic noise added to clean images; ``null`` when the images are already noisy
        (real noise), in which case batches carry no ``clean`` and PSNR is not computed.
    channels: 1 for gray (RGB inputs are converted with BT.601 weights), 3 for RGB.
    patch_size: side of the square training patches.
    patches_per_image: patches cut from every training image per epoch.
    batch_size: training batch size (per process under DDP).
    eval_batch_size: val/test/predict batch size; images of different sizes need 1.
    num_workers: data-loader worker processes (results do not depend on it).
    augment: random flips and 90-degree rotations of training patches.
    seed: seeds crops, augmentation and noise (training noise is fresh every epoch, val/test noise
        is the same every epoch).
    batches_on_device: make each training batch on the training device, vectorised over the batch
        (``datamodules.device_batches``): the training images are held there as one tensor, and crops,
        orientations and noise are drawn per batch from (seed, epoch, rank, step). For synthetic noise
        on clean images (or plain noisy images); ``num_workers`` then only serves val/test.
    noise_draws: synthetic training noise ``fresh`` (a new draw for every patch, every epoch: the usual
        recipe, which lets a method see many noisy versions of each clean image) or ``fixed`` (each
        training image gets one noisy version, and its second draw for Noise2Noise, kept in every
        epoch: what a user with one noisy capture per scene has, the honest self-supervised protocol).
    """

    def __init__(
        self,
        noise: NoiseModel | None = lazy_instance(Gaussian, sigma=25.0),
        channels: Literal[1, 3] = 1,
        patch_size: int = 64,
        patches_per_image: int = 16,
        batch_size: int = 16,
        eval_batch_size: int = 1,
        num_workers: int = 0,
        augment: bool = True,
        seed: int = 0,
        batches_on_device: bool = False,
        noise_draws: NoiseDraws = "fresh",
    ) -> None:
        super().__init__()
        check_choice("channels (1: gray, 3: RGB) value", channels, Literal[1, 3])
        if patch_size < 1 or patches_per_image < 1 or batch_size < 1 or eval_batch_size < 1:
            raise ValueError("patch_size, patches_per_image, batch_size and eval_batch_size must be positive")
        self.noise = noise
        self.channels = channels
        self.patch_size = patch_size
        self.patches_per_image = patches_per_image
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.augment = augment
        self.seed = seed
        self.batches_on_device = batches_on_device
        check_choice("noise_draws", noise_draws, NoiseDraws)
        self.noise_draws = noise_draws
        self.datasets: dict[str, Dataset] = {}
        self._device_batches: DeviceBatches | None = None

    @abstractmethod
    def load_split(self, split: str) -> Split:
        """The images of 'train', 'val' or 'test' ([H, W, channels] float32 in [0, 1], or dicts of aligned
        real captures) as a sequence, usually a lazy ``ImageFiles``, and their names."""

    def setup(self, stage: str) -> None:
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("predict",)}[stage]
        for split in wanted:
            if split in self.datasets:
                continue
            images, names = self.load_split("test" if split == "predict" else split)
            if isinstance(images, ImageFiles):
                images.check()
            if split == "train":
                self.datasets[split] = TrainPatchDataset(
                    images, self.patch_size, self.patches_per_image, self.noise, self.seed, self.augment,
                    self.noise_draws,
                )  # fmt: skip
            else:
                # predict serves the test images with the test noise, so its outputs match `test`
                stage_code = VAL if split == "val" else TEST
                self.datasets[split] = EvalImageDataset(images, names, self.noise, self.seed, stage_code)

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def _device_batch_loader(self) -> DeviceBatches:
        world_size, rank = self._world()
        device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
        loader = self._device_batches
        if loader is None or loader.device != device or (loader.num_replicas, loader.rank) != (world_size, rank):
            dataset = self.datasets["train"]
            images = [dataset.images[index] for index in range(len(dataset.images))]
            loader = DeviceBatches(
                images, self.patch_size, self.patches_per_image, self.batch_size, self.noise, self.seed,
                self.augment, device, world_size, rank, self.noise_draws,
            )  # fmt: skip
            self._device_batches = loader
        if self.trainer is not None:  # as for the sampler below: the epoch a resumed run starts at
            loader.set_epoch(self.trainer.fit_loop.epoch_progress.current.processed)
            loader.skip_next(self._batches_done_in_epoch(len(loader)))
        return loader

    def _batches_done_in_epoch(self, batches_per_epoch: int) -> int:
        """Batches of the current epoch already trained when a run resumes mid-epoch (its checkpoint was
        written on SIGTERM or SLURM pre-emption), 0 otherwise; Lightning restores the loops' progress
        before it asks for the training data, and the epoch loop then runs only the remaining batches."""
        trainer = self.trainer
        if trainer is None or trainer.ckpt_path is None:
            return 0
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        return done if 0 < done < batches_per_epoch else 0

    def train_dataloader(self) -> DataLoader | DeviceBatches:
        if self.batches_on_device:
            return self._device_batch_loader()
        dataset = self.datasets["train"]
        world_size, rank = self._world()
        sampler = EpochSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=self.seed)
        # Lightning creates the first iterator of a resumed run before it calls set_epoch, and worker
        # processes draw their indices at once: start from the epoch Lightning will pass (the count
        # of processed epochs, restored from the checkpoint)
        if self.trainer is not None:
            sampler.set_epoch(self.trainer.fit_loop.epoch_progress.current.processed)
            batches = -(-len(sampler) // self.batch_size)
            sampler.skip_next(self._batches_done_in_epoch(batches) * self.batch_size)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def _eval_dataloader(self, split: str) -> DataLoader:
        return DataLoader(self.datasets[split], batch_size=self.eval_batch_size, num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader:
        return self._eval_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_dataloader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._eval_dataloader("predict")
