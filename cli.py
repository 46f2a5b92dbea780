"""The project's LightningCLI: any method (``model``) with any DataModule (``data``), configured by
stacked YAML files; the default trainer setup (W&B logger, image panels, checkpoints) lives in
``configs/trainer/default.yaml``."""

from __future__ import annotations

import netrc
import os
import sys
from pathlib import Path

import torch
import yaml
from jsonargparse import Namespace
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from callbacks.checkpoint import LastEpochCheckpoint
from callbacks.config_saver import SaveConfigBesideCheckpoints
from datamodules.base import DenoisingDataModule
from lightning_modules.base import DenoisingModule

DEFAULT_TRAINER_CONFIG = Path(__file__).resolve().parent / "configs" / "trainer" / "default.yaml"
SUBCOMMANDS = ("fit", "validate", "test", "predict")


CONFIG_ERROR_HINT = (
    "\nHow to fix: correct or remove the key named above. `python train.py fit -c <configs> --print_config` "
    "prints every valid key with its value; `python train.py fit --model.help <class path>` (or --data.help) "
    "lists the options of one class."
)


class DenoisingArgumentParser(LightningArgumentParser):
    """Adds to every configuration error a line on how to find the valid keys."""

    def error(self, message: str, ex: Exception | None = None):
        # nested parsers (one per class) raise into this one; add the hint once, at the top
        super().error(message + CONFIG_ERROR_HINT if self.exit_on_error else message, ex)


def wandb_credentials_present() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def default_wandb_to_offline() -> None:
    """Without W&B credentials an online run would stop at a login prompt: run offline instead, and say so."""
    if "WANDB_MODE" not in os.environ and not wandb_credentials_present():
        os.environ["WANDB_MODE"] = "offline"
        print(
            "W&B: no API key found (run `wandb login` or set WANDB_API_KEY to log online); logging offline. "
            "Upload later with `wandb sync <run folder>`.",
            file=sys.stderr,
        )


def check_checkpoint(path: str | None) -> None:
    """Fail early, before anything is written, on a checkpoint that is missing or unreadable."""
    if path is None or path in ("last", "best", "hpc", "registry"):
        return
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"Checkpoint '{path}' does not exist. Give the path of a .ckpt file (for example "
            "runs/<experiment>/checkpoints/last.ckpt), or --ckpt_path last to resume the latest run."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise RuntimeError(
            f"Could not read checkpoint '{path}' ({type(error).__name__}: {error}). The file is truncated or not "
            "a checkpoint: use another one (last.ckpt or the best-*.ckpt beside it) or train again."
        ) from error
    if not isinstance(state, dict) or "state_dict" not in state:
        raise RuntimeError(
            f"'{path}' is not a Lightning checkpoint (it has no 'state_dict'). Point --ckpt_path at a .ckpt file."
        )


def model_overrides(arguments: list[str]) -> list[tuple[str, object]]:
    """``--model.init_args.x v`` / ``--model.x=v`` pairs of a command line, as (config key, parsed value)."""
    pairs, index = [], 0
    while index < len(arguments):
        token = arguments[index]
        if token.startswith("--model.") and not token.endswith(".help"):
            key, _, value = token[2:].partition("=")
            if not _:
                index += 1
                value = arguments[index] if index < len(arguments) else ""
            if not key.startswith("model.init_args."):
                key = "model.init_args." + key.removeprefix("model.")
            pairs.append((key, yaml.safe_load(value)))
        index += 1
    return pairs


def checkpoint_dir(root_dir: str | None) -> str:
    """Checkpoints live in ``<trainer.default_root_dir>/checkpoints``, a stable place, so that
    ``--ckpt_path last`` finds the previous run's ``last.ckpt``."""
    return os.path.join(root_dir or ".", "checkpoints")


class DenoisingCLI(LightningCLI):
    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        super().__init__(
            model_class=DenoisingModule,
            subclass_mode_model=True,
            datamodule_class=DenoisingDataModule,
            subclass_mode_data=True,
            save_config_callback=SaveConfigBesideCheckpoints,
            save_config_kwargs={"overwrite": True, "save_to_log_dir": False},
            parser_kwargs={sub: {"default_config_files": [str(DEFAULT_TRAINER_CONFIG)]} for sub in SUBCOMMANDS},
            seed_everything_default=0,
            parser_class=DenoisingArgumentParser,
            args=args,
            run=run,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(LastEpochCheckpoint, "checkpoint")
        parser.link_arguments("trainer.default_root_dir", "checkpoint.dirpath", compute_fn=checkpoint_dir)
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=False,
            help="After fit, test the best checkpoint and print test PSNR/SSIM next to the noisy input's.",
        )

    def parse_arguments(self, parser: LightningArgumentParser, args) -> None:
        self._command_line = list(args) if args is not None else sys.argv[1:]
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        if subcommand:
            check_checkpoint(self.config[subcommand].get("ckpt_path"))

    def _parse_ckpt_path(self) -> None:
        """Lightning replaces the model config by the checkpoint's hyperparameters; model options given
        on the command line (e.g. ``--model.init_args.mc_samples 10`` at test time) still win."""
        super()._parse_ckpt_path()
        subcommand = self.config.get("subcommand")
        if subcommand and self.config[subcommand].get("ckpt_path"):
            config = self.config[subcommand]
            for key, value in model_overrides(self._command_line):
                # plain options only: nested classes (the network) come from the checkpoint as a whole
                if key.count(".") == 2 and key in config and not isinstance(config[key], (dict, Namespace)):
                    config[key] = value

    def before_instantiate_classes(self) -> None:
        # W&B files go beside the checkpoints unless the config says otherwise
        config = self.config[self.subcommand] if self.subcommand else self.config
        logger = config.trainer.get("logger")
        if getattr(logger, "class_path", "").endswith("WandbLogger"):
            default_wandb_to_offline()
            init_args = logger.init_args
            root = config.trainer.default_root_dir or "."
            if init_args.get("save_dir") in (None, "."):
                init_args.save_dir = root
            if init_args.get("name") is None:
                init_args.name = Path(root).name

    def after_fit(self) -> None:
        if not self.config.fit.get("test_after_fit"):
            return
        checkpoint = self.trainer.checkpoint_callback
        best = checkpoint.best_model_path if checkpoint is not None else ""
        self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None)


def main(args: list[str] | None = None) -> DenoisingCLI:
    return DenoisingCLI(args=args)
