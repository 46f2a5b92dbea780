"""Shared base of every denoising method.

A method says how a batch becomes a training loss (``training_loss``) and, if it differs from one
network pass, how a noisy image becomes a denoised one (``denoise``). The base owns the injected
network (attribute ``network``), the optimizer and scheduler from config, PSNR / SSIM per stage
against ``clean`` when the batch has it (also for the noisy input, as the reference point), a
per-image CSV of test results, and ``predict_step``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Literal, TypedDict

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MeanMetric

from callbacks.test_results import SCORES, TestResultsWriter
from core.choices import check_choice
from core.metrics import per_image_psnr, per_image_ssim, quantize_8bit
from core.seeding import TEST, TRAIN, VAL, derive_seed
from lightning_modules.nonfinite import NonFiniteGuard
from networks.channels import input_channels
from networks.cpu_features import warn_if_bfloat16_is_emulated
from networks.evaluation_copy import evaluation_copy
from networks.standardized import measure_unset
from networks.tiling import (
    denoise_tiled,
    dihedral,
    receptive_radius,
    undo_dihedral,
    warn_if_patches_inside_receptive_field,
)


class Batch(TypedDict, total=False):
    """What a DataModule yields (``../shared/DESIGN.md``, batch contract): ``noisy`` [B, C, H, W] in [0, 1]
    (synthetic noise not clipped unless configured), and where the data has them ``clean``, ``noisy2``
    (an independent second noisy observation), the noise parameters that made it (``sigma``, ``lam``,
    per image, on [0, 1]) and the images' ``name``. Self-supervised training losses never read ``clean``
    (``training_step`` drops it unless the method lists it in ``required_keys``)."""

    noisy: Tensor
    clean: Tensor
    noisy2: Tensor
    sigma: Tensor
    lam: Tensor
    name: list[str]


def dihedral_batch(batch: Batch | None, index: int) -> Batch | None:
    """The batch with its image-shaped tensors (noisy, clean, per-pixel maps) under ``dihedral(., index)``."""
    if batch is None:
        return None
    return {key: dihedral(value, index) if isinstance(value, Tensor) and value.dim() == 4 else value
            for key, value in batch.items()}  # type: ignore[return-value]  # fmt: skip


# which pass a denoise serves: validation may use a cheaper inference than test and predict (R2R)
Stage = Literal["val", "test", "predict"]
TestLoss = Literal["auto", "always", "never"]


class DenoisingModule(pl.LightningModule):
    """Args:
    network: the denoising network (a plain ``nn.Module``), injected by config.
    optimizer: optimizer factory, e.g. ``torch.optim.Adam`` with its ``lr``.
    lr_scheduler: optional scheduler factory (StepLR, MultiStepLR, ReduceLROnPlateau, ...).
    scheduler_interval: step the scheduler every ``epoch`` or every ``step``.
    scheduler_monitor: metric read by ReduceLROnPlateau.
    results_csv: file name of the per-image test results (``callbacks.TestResultsWriter``), written in the
        trainer's root directory.
    seed: seeds the method's own random draws (see ``step_generator``).
    fast_inference: test and predict with ``evaluation_copy(network)`` (batch norm folded, channels-last
        memory): same outputs up to float rounding, faster on CPU where inference runs many passes.
    channels_last: keep the network's weights and the training batches in channels-last memory, the
        layout tensor-core convolutions use (cuDNN on recent GPUs); outputs are the same up to rounding.
    compile_network: train through ``torch.compile(network)``; validation, test and predict (whole
        images of varying sizes) use the network as it is, so nothing is recompiled per image size.
    fresh_optimizer: on resuming from a checkpoint, start the optimizer and scheduler afresh from this
        configuration (its learning rate, no moments, the schedule from its start) instead of restoring
        theirs; weights, epoch and step are restored as usual. The way to resume after a non-finite loss
        with a lower learning rate: ``--ckpt_path last --model.init_args.fresh_optimizer true
        --model.init_args.optimizer.init_args.lr <lower>``.
    predict_tile: ``train.py predict`` denoises images larger than this in tiles of this size, overlapping
        by the method's receptive radius and blended (``networks.tiling``): bounded memory for any image
        size, the same result as one pass. ``None`` passes whole images.
    nan_check_every_n_steps: how often a non-finite training loss is looked for on the host. On a CPU
        every step (it costs nothing there); on an accelerator the check would stall the device queue
        every step, so the first non-finite step is recorded on the device and read every n steps, at
        the end of each epoch and before any checkpoint is written: a bad update never reaches a
        checkpoint, and training stops within n steps of it.
    quantize_8bit: score outputs rounded to 8 bits (clamped to [0, 1], x 255, rounded), as the SIDD and
        real-noise benchmarks compute PSNR/SSIM; the outputs written by predict are not rounded.
    test_loss: when ``train.py test`` also computes the method's own loss on the test images
        (``test/loss``): ``auto`` for test images without a clean reference only (there it is the one
        measure), ``always``, or ``never``. It costs one more network pass per image (Noise2Void's masked
        pass doubles its test time), which ``auto`` spares when PSNR/SSIM score the outputs.
    self_ensemble: test and predict average the method's inference over the 8 rotations and flips of each
        image, each output mapped back (the geometric self-ensemble, ``networks.tiling.with_flips_and_rotations``;
        8x the inference time; validation stays one inference).
    """

    #: batch keys the method's training loss needs besides ``noisy``; checked with a clear error
    required_keys: tuple[str, ...] = ()

    def __init__(
        self,
        network: nn.Module,
        optimizer: OptimizerCallable = torch.optim.Adam,
        lr_scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        scheduler_monitor: str = "val/loss",
        results_csv: str = "test_results.csv",
        seed: int = 0,
        fast_inference: bool = False,
        channels_last: bool = False,
        compile_network: bool = False,
        fresh_optimizer: bool = False,
        predict_tile: int | None = None,
        nan_check_every_n_steps: int = 50,
        quantize_8bit: bool = False,
        test_loss: TestLoss = "auto",
        self_ensemble: bool = False,
    ) -> None:
        super().__init__()
        if nan_check_every_n_steps < 1:
            raise ValueError(f"nan_check_every_n_steps must be >= 1, got {nan_check_every_n_steps}")
        # Through the CLI the hyperparameters are the config (class paths), which lets
        # `load_from_checkpoint` rebuild the network; built by hand they hold the module itself,
        # which the state dict already stores.
        self.save_hyperparameters()
        if isinstance(self.hparams.get("network"), nn.Module):
            self.remove_ignored_hparams(["network"])
        self.network = network
        self.optimizer_factory = optimizer
        self.scheduler_factory = lr_scheduler
        self.scheduler_interval = check_choice("scheduler_interval", scheduler_interval, Literal["epoch", "step"])
        self.scheduler_monitor = scheduler_monitor
        self.results_csv = results_csv
        self.seed = seed
        self.fast_inference = fast_inference
        self.channels_last = channels_last
        self.compile_network = compile_network
        self.fresh_optimizer = fresh_optimizer
        self.predict_tile = predict_tile
        self.quantize_8bit = quantize_8bit
        self.test_loss = check_choice("test_loss", test_loss, TestLoss)
        self.self_ensemble = self_ensemble
        self._predict_margin: int | None = None
        self._fresh_states: list[tuple[object, dict]] = []
        self.nan_guard = NonFiniteGuard(nan_check_every_n_steps)
        self._evaluation_network: nn.Module | None = None
        self._compiled_network: Callable[[Tensor], Tensor] | None = None
        self._shown_loss: Tensor | None = None
        self._shown_at = -1.0
        self._network_channels: int | None = None
        self._epoch_loss_sum: Tensor | float = 0.0
        self._epoch_loss_count = 0
        # how many validation images an image panel shows (callbacks.WandbImagePanel sets it when it logs)
        self.validation_images_shown = 0
        self.scores = nn.ModuleDict({f"{stage}_{score}": MeanMetric() for stage in ("val", "test") for score in SCORES})

    # ---- what a method defines -------------------------------------------------------------
    def training_loss(self, batch: Batch, generator: torch.Generator) -> Tensor:
        """The method's loss on a batch; ``generator`` serves any random draw (masks, recorruption)."""
        raise NotImplementedError

    def validation_loss(self, batch: Batch, generator: torch.Generator) -> Tensor:
        """The loss reported as ``val/loss``; by default the training loss on the validation batch."""
        return self.training_loss(batch, generator)

    def denoise(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        """The denoised estimate of ``noisy`` [B, C, H, W]; one network pass unless a method says otherwise.
        ``batch``, when given, carries what else the data knows (e.g. the noise level); ``stage`` says
        which pass this is (``val`` during fit, ``test``, ``predict``)."""
        return self.inference_network()(noisy)

    def denoise_stage(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        """What validation, test and predict call: ``denoise_with_options``, averaged over the 8 rotations and
        flips of the image with ``self_ensemble`` (not in validation)."""
        if not self.self_ensemble or stage == "val":
            return self.denoise_with_options(noisy, generator, batch, stage)
        # the geometric self-ensemble (networks.tiling.with_flips_and_rotations, here with the batch's
        # image-shaped values transformed alongside)
        total = torch.zeros_like(noisy)
        for code in range(8):
            image, view = dihedral(noisy, code), dihedral_batch(batch, code)
            total += undo_dihedral(self.denoise_with_options(image, generator, view, stage), code)
        return total / 8

    def denoise_with_options(
        self, noisy: Tensor, generator: torch.Generator | None = None, batch: Batch | None = None, stage: Stage = "test"
    ) -> Tensor:
        """``denoise``, or what an option wraps around it (pixel-shuffle downsampling,
        ``lightning_modules.pixel_shuffle``)."""
        return self.denoise(noisy, generator, batch, stage)

    @property
    def fit_network(self) -> Callable[[Tensor], Tensor]:
        """The network training losses call: ``torch.compile(network)`` in training mode when
        ``compile_network`` is set (same parameters), else ``network``."""
        if self.training and self._compiled_network is not None:
            return self._compiled_network
        return self.network

    def inference_network(self) -> nn.Module:
        """The network inference passes use: the faster evaluation copy during test and predict when
        ``fast_inference`` is set, else ``network`` itself (always while fitting and validating)."""
        return self._evaluation_network if self._evaluation_network is not None else self.network

    def forward(self, noisy: Tensor) -> Tensor:
        return self.denoise_stage(noisy)

    def exported_network(self) -> tuple[nn.Module, str]:
        """What ``export.py`` writes (a plain module of ``networks``) and one sentence on what its output
        is; by default the network, whose one pass is this method's denoiser."""
        return self.network, "the denoised image: this method's inference is one pass of the network"

    # ---- randomness of the method itself (masks, recorruption) -----------------------------
    def step_generator(self, stage: str, batch_idx: int, stream: int = 0) -> torch.Generator:
        """A generator on the model's device, seeded by (seed, stage, rank, step): training draws are
        fresh each step and differ per DDP rank, validation draws are the same every epoch, and a
        resumed run draws what an uninterrupted one would have, with no state to checkpoint. ``stream``
        separates independent uses within one step (inference draws vs the validation loss's)."""
        if stage == "train":
            keys = (self.seed, TRAIN, self.global_rank, self.global_step, stream)
        else:
            keys = (self.seed, VAL if stage == "val" else TEST, self.global_rank, batch_idx, stream)
        return torch.Generator(device=self.device).manual_seed(derive_seed(*keys))

    def loss_view(self, batch: Batch) -> Batch:
        """The batch a loss may read: without ``clean`` unless the method needs it (``required_keys``), so a
        self-supervised loss cannot see the clean image even where synthetic data has one."""
        if "clean" in self.required_keys or "clean" not in batch:
            return batch
        return {key: value for key, value in batch.items() if key != "clean"}  # type: ignore[return-value]

    @property
    def loss_view_note(self) -> str:
        """How ``loss_view`` reshapes the data's patches, for messages (empty: it does not)."""
        return ""

    # ---- checks ------------------------------------------------------------------------------
    def check_batch(self, batch: Batch) -> None:
        self.check_channels(batch.get("noisy"))
        missing = [key for key in ("noisy", *self.required_keys) if key not in batch]
        if missing:
            raise KeyError(
                f"{type(self).__name__} needs the batch keys {missing}, which the DataModule did not provide "
                f"(it gave {sorted(batch)}). 'clean' and 'noisy2' come with synthetic noise (set data.noise) "
                "or with paired datasets; pick a self-supervised method for data that has neither."
            )

    def check_channels(self, noisy: Tensor | None) -> None:
        """One clear sentence, rather than a convolution's shape error, when the data's channel count is
        not the one the network's first convolution takes."""
        if noisy is None or noisy.dim() != 4:
            return
        if self._network_channels is None:
            self._network_channels = input_channels(self.network) or -1
        if self._network_channels > 0 and noisy.shape[1] != self._network_channels:
            raise ValueError(
                f"The data has {noisy.shape[1]} channel(s) but the network takes {self._network_channels}: set "
                f"model.init_args.network.init_args.in_channels: {noisy.shape[1]} (and out_channels where the network "
                f"has it), or data.init_args.channels: {self._network_channels}."
            )

    def check_finite(self, loss: Tensor) -> None:
        """Raise at once if ``loss`` is not finite (a host sync: the per-step path uses ``nan_guard``)."""
        self.nan_guard.watch(loss, self.global_step)
        self.nan_guard.check(self.current_epoch, now=True)

    # ---- speed options -------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        if self.channels_last:
            self.network.to(memory_format=torch.channels_last)
        if stage == "fit" and self.compile_network and self._compiled_network is None:
            self._compiled_network = torch.compile(self.network)
        trainer = self._trainer
        if trainer is not None and "bf16" in str(trainer.precision) and self.device.type == "cpu":
            warn_if_bfloat16_is_emulated("precision='bf16-mixed' training")

    def _in_memory_format(self, batch: Batch) -> Batch:
        """The batch's images in channels-last memory when ``channels_last`` is set."""
        if not self.channels_last:
            return batch
        return {
            key: value.contiguous(memory_format=torch.channels_last)
            if isinstance(value, Tensor) and value.dim() == 4 else value
            for key, value in batch.items()
        }  # fmt: skip

    # ---- steps -------------------------------------------------------------------------------
    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        self.check_batch(batch)
        batch = self._in_memory_format(self.loss_view(batch))
        if self.global_step == 0:  # statistics of a standardising wrapper, unless given or resumed
            measure_unset(self.network, batch["noisy"])
            warn_if_patches_inside_receptive_field(self.network, batch["noisy"], self.loss_view_note)
        loss = self.training_loss(batch, self.step_generator("train", batch_idx))
        self.nan_guard.watch(loss, self.global_step)
        every_step = self.host_reads_are_free(loss)
        self.nan_guard.check(self.current_epoch, now=every_step)
        self._log_training_loss(loss.detach(), len(batch["noisy"]), every_step)
        return loss

    def _log_training_loss(self, loss: Tensor, batch_size: int, every_step: bool) -> None:
        """``train/loss_step`` on the steps the loggers write, ``train/loss_epoch`` (the batch-weighted
        mean) at the end of the epoch, and a host copy of the loss in the progress bar: refreshed about
        twice a second on a CPU, every ``nan_check_every_n_steps`` on an accelerator (a device-to-host copy
        waits for the device). ``self.log`` costs about a millisecond of host time, so it is not called on
        every step; the epoch sum stays on the device."""
        self._epoch_loss_sum = self._epoch_loss_sum + loss * batch_size
        self._epoch_loss_count += batch_size
        trainer = self._trainer
        if trainer is None or trainer._logger_connector.should_update_logs:  # as LearningRateMonitor checks
            self.log("train/loss_step", loss, on_step=True, on_epoch=False, batch_size=batch_size)
        now = time.monotonic()
        if every_step:  # a CPU: refresh about twice a second
            refresh = now - self._shown_at >= 0.5
        else:
            refresh = self._shown_loss is None or self.global_step % self.nan_guard.every == 0
        if refresh:
            self._shown_loss, self._shown_at = loss.float().cpu(), now
            self.log("loss", self._shown_loss, prog_bar=True, logger=False, on_step=True, on_epoch=False, batch_size=1)

    @staticmethod
    def host_reads_are_free(value: Tensor) -> bool:
        """Whether reading ``value`` on the host costs no device sync (it lives in CPU memory)."""
        return value.device.type == "cpu"

    def on_train_start(self) -> None:
        # Lightning has restored the checkpoint's optimizer and scheduler by now: put the fresh ones back
        if self.fresh_optimizer and self.trainer.ckpt_path is not None:
            for target, state in self._fresh_states:
                target.load_state_dict(copy.deepcopy(state))
            lrs = [group["lr"] for group in self._fresh_states[0][0].param_groups]
            print(f"fresh_optimizer: optimizer and scheduler start afresh from the configuration (lr {lrs})")

    def on_train_epoch_end(self) -> None:
        self.nan_guard.check(self.current_epoch, now=True)
        if self._epoch_loss_count:
            mean = self._epoch_loss_sum / self._epoch_loss_count
            self.log("train/loss_epoch", mean, on_step=False, on_epoch=True, batch_size=self._epoch_loss_count)
        self._epoch_loss_sum, self._epoch_loss_count = 0.0, 0

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        self.nan_guard.check(self.current_epoch, now=True)

    def on_train_epoch_start(self) -> None:
        # logged here rather than by LearningRateMonitor, which refuses to run without a logger
        self.log("train/lr", self.optimizers().param_groups[0]["lr"], on_epoch=True, on_step=False)

    def _score(self, stage: str, batch: Batch, denoised: Tensor) -> dict[str, Tensor]:
        if "clean" not in batch:
            return {}
        clean, noisy = batch["clean"], batch["noisy"]
        if self.quantize_8bit:  # the real-noise protocol (SIDD, Nam): scores of 8-bit outputs
            denoised = quantize_8bit(denoised)
        values = {
            "psnr": per_image_psnr(denoised, clean),
            "ssim": per_image_ssim(denoised, clean),
            "noisy_psnr": per_image_psnr(noisy, clean),
            "noisy_ssim": per_image_ssim(noisy, clean),
        }
        for name, per_image in values.items():
            metric = self.scores[f"{stage}_{name}"]
            metric.update(per_image)
            self.log(f"{stage}/{name}", metric, on_epoch=True, batch_size=len(per_image), prog_bar=name == "psnr")
        return values

    def _eval_step(
        self, batch: Batch, batch_idx: int, stage: str, denoise: bool = True
    ) -> tuple[Tensor | None, dict[str, Tensor]]:
        """The stage's loss, and unless ``denoise`` is off the denoised batch and its scores."""
        self.check_channels(batch["noisy"])
        denoised = None
        if denoise:
            denoised = self.denoise_stage(batch["noisy"], self.step_generator(stage, batch_idx), batch, stage)
        wanted = stage != "test" or self.test_loss == "always" or (self.test_loss == "auto" and "clean" not in batch)
        if wanted and all(key in batch for key in self.required_keys):
            loss = self.validation_loss(self.loss_view(batch), self.step_generator(stage, batch_idx, stream=1))
            self.log(f"{stage}/loss", loss, on_epoch=True, sync_dist=True, batch_size=len(batch["noisy"]))
        return denoised, ({} if denoised is None else self._score(stage, batch, denoised))

    def validation_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor] | None:
        """Scores and ``val/loss``; the denoised images for the image panels. A batch without ``clean`` that
        no panel shows (a self-supervised run on real captures) gets ``val/loss`` alone: its denoising
        pass (pixel-shuffle with R3, recorruption averages) would be computed for nothing."""
        shown = batch_idx * len(batch["noisy"]) < self.validation_images_shown
        denoised, _ = self._eval_step(batch, batch_idx, "val", denoise="clean" in batch or shown)
        return None if denoised is None else {"denoised": denoised.detach()}

    def test_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor]:
        """Per-image scores ({score: [B]}), which ``TestResultsWriter`` tabulates."""
        _, values = self._eval_step(batch, batch_idx, "test")
        return values

    def configure_callbacks(self) -> list[Callback]:
        return [TestResultsWriter(self.results_csv)]

    def predict_step(self, batch: Batch, batch_idx: int) -> Tensor:
        generator = self.step_generator("test", batch_idx)
        if self.predict_tile is None:
            return self.denoise_stage(batch["noisy"], generator, batch, "predict").clamp(0, 1)
        noisy = batch["noisy"]
        if self._predict_margin is None:  # measured once, by autograd (networks.tiling.receptive_radius)
            with torch.inference_mode(False):
                probe = lambda image: self.denoise_stage(image, stage="predict")  # noqa: E731
                self._predict_margin = receptive_radius(probe, noisy.shape[1], device=noisy.device)
        per_image = {k: v for k, v in batch.items() if k in ("sigma", "lam")}
        denoise = lambda tile: self.denoise_stage(tile, generator, per_image, "predict")  # noqa: E731
        return denoise_tiled(denoise, noisy, tile=self.predict_tile, margin=self._predict_margin).clamp(0, 1)

    # ---- the evaluation copy for test and predict ---------------------------------------------
    def _build_evaluation_network(self) -> None:
        self._evaluation_network = evaluation_copy(self.network) if self.fast_inference else None

    def _drop_evaluation_network(self) -> None:
        self._evaluation_network = None

    on_test_start = on_predict_start = _build_evaluation_network
    on_test_end = on_predict_end = _drop_evaluation_network

    # ---- optimisation ------------------------------------------------------------------------
    def trainable_parameters(self) -> list[nn.Parameter]:
        """What the optimizer updates: the network's parameters and any the method adds (Laine's learned
        noise level or noise-level network), never the evaluation copy made for test and predict."""
        copy = self._evaluation_network
        copy_ids = {id(p) for p in copy.parameters()} if copy is not None else set()
        return [p for p in self.parameters() if p.requires_grad and id(p) not in copy_ids]

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.trainable_parameters())
        scheduler = self.scheduler_factory(optimizer) if self.scheduler_factory is not None else None
        # the states a fresh_optimizer resume goes back to (the scheduler first adds its keys to the groups)
        made = [item for item in (optimizer, scheduler) if item is not None]
        self._fresh_states = [(item, copy.deepcopy(item.state_dict())) for item in made]
        if scheduler is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": scheduler,
                "interval": self.scheduler_interval,
                "monitor": self.scheduler_monitor,
            },
        }
