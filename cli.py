"""The project's LightningCLI: any method (``model``) with any DataModule (``data``), configured by
stacked YAML files; the default trainer setup (W&B logger, image panels, checkpoints) lives in
``configs/trainer/default.yaml``."""

from __future__ import annotations

import netrc
import os
import sys
from pathlib import Path

import yaml
from jsonargparse import Namespace
from pytorch_lightning.callbacks import ProgressBar
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities.exceptions import SIGTERMException

from callbacks.checkpoint import LastEpochCheckpoint
from callbacks.config_saver import SaveConfigBesideCheckpoints
from callbacks.preemption import SIGTERM_EXIT_STATUS, AtomicCheckpointIO, PreemptionCheckpoint
from callbacks.progress_bar import ThrottledProgressBar
from config_stack import expand_stacks
from datamodules.base import DenoisingDataModule
from lightning_modules.base import DenoisingModule
from lightning_modules.loading import read_checkpoint

DEFAULT_TRAINER_CONFIG = Path(__file__).resolve().parent / "configs" / "trainer" / "default.yaml"
SUBCOMMANDS = ("fit", "validate", "test", "predict")
RESUME_OVERRIDABLE = ("model.init_args.optimizer.init_args.", "model.init_args.lr_scheduler.init_args.")


CONFIG_ERROR_HINT = (
    "\nHow to fix: correct or remove the key named above. `python train.py fit -c <configs> --print_config` "
    "prints every valid key with its value; `python train.py fit --model.help <class path>` (or --data.help) "
    "lists the options of one class."
)


MISSING_CONFIG_HINT = (
    "\nHow to fix: say what to train, usually with an experiment config: "
    "`python train.py fit -c configs/experiments/n2n_samples.yaml` (one per method and dataset in "
    "configs/experiments/), or stack a data and a method config: "
    "`-c configs/data/samples.yaml -c configs/method/n2n.yaml`."
)


class DenoisingArgumentParser(LightningArgumentParser):
    """Adds to every configuration error a line on how to find the valid keys."""

    def error(self, message: str, ex: Exception | None = None):
        # nested parsers (one per class) raise into this one; add the hint once, at the top
        if self.exit_on_error:
            missing = "arguments are required" in message and (".model" in message or ".data" in message)
            message += MISSING_CONFIG_HINT if missing else CONFIG_ERROR_HINT
        super().error(message, ex)


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
    """Fail early, before anything is written, on a checkpoint that is missing, unreadable, or would run
    code when read (``read_checkpoint``)."""
    if path is None or path in ("last", "best", "hpc", "registry"):
        return
    read_checkpoint(path)


def checkpoint_method(path: str) -> str | None:
    """The method class path a checkpoint records (its ``_class_path`` hyperparameter), read without
    running code from the file."""
    try:
        state = read_checkpoint(path)
    except (OSError, RuntimeError):
        return None  # check_checkpoint reports unreadable files
    return state.get("hyper_parameters", {}).get("_class_path")


def check_same_method(path: str, configured: str | None) -> None:
    """A checkpoint of another method must not silently replace the configured one (its weights would
    be trained or tested as a different method, or the run would quietly switch method)."""
    recorded = checkpoint_method(path)
    if configured and recorded and recorded != configured:
        raise SystemExit(
            f"Checkpoint '{path}' was trained with {recorded}, but the configuration asks for {configured}. "
            f"Use the configuration that trained it (the config.yaml beside it), or set --model {recorded}."
        )


def run_checkpoints(root_dir: str | None) -> tuple[Path | None, Path | None]:
    """The newest ``best-*.ckpt`` and the ``last.ckpt`` of the run in ``root_dir``, where they exist."""
    folder = Path(checkpoint_dir(root_dir))
    best = sorted(folder.glob("best-*.ckpt"), key=lambda p: p.stat().st_mtime)
    last = folder / "last.ckpt"
    return (best[-1] if best else None), (last if last.is_file() else None)


def evaluation_checkpoint(subcommand: str, root_dir: str | None) -> str:
    """``test`` / ``validate`` / ``predict`` without ``--ckpt_path``: the run's best checkpoint (else its
    last), said on stderr; without any, a clear refusal rather than evaluating an untrained network."""
    best, last = run_checkpoints(root_dir)
    chosen = best or last
    if chosen is None:
        raise SystemExit(
            f"train.py {subcommand} needs trained weights, and {checkpoint_dir(root_dir)} holds no checkpoint. "
            "Give one with --ckpt_path <file.ckpt>, or train first (train.py fit with the same config)."
        )
    print(f"No --ckpt_path given: {subcommand} uses the run's {'best' if best else 'last'} checkpoint {chosen}",
          file=sys.stderr)  # fmt: skip
    return str(chosen)


def refuse_a_used_folder(root_dir: str | None) -> None:
    """A new ``fit`` into a folder that holds an earlier run's checkpoints would mix two runs there
    (``last.ckpt`` of one, ``last-v1.ckpt`` of the other, one config for both): refuse, saying how."""
    folder = Path(checkpoint_dir(root_dir))
    earlier = sorted(path.name for path in folder.glob("*.ckpt"))
    if any(Path(root_dir or ".").glob("hpc_ckpt_*.ckpt")):
        return  # a requeued SLURM job: Lightning resumes from its hpc checkpoint
    if earlier:
        raise SystemExit(
            f"{folder} already holds a run ({', '.join(earlier[:3])}{', ...' if len(earlier) > 3 else ''}). Resume "
            f"it with --ckpt_path last, train into a new folder with --trainer.default_root_dir <new folder>, or "
            "move the old checkpoints away first."
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


def run_summary(subcommand: str, config, checkpoint: str | None) -> str:
    """One line naming what runs: method, network, data and checkpoint."""

    def name(node) -> str:
        return str((node or {}).get("class_path", "?")) if node is not None else "none"

    model = config.get("model") or {}
    network = (model.get("init_args") or {}).get("network")
    return (
        f"{subcommand}: method {name(model)}, network {name(network)}, data {name(config.get('data'))}, "
        f"checkpoint {checkpoint or 'none (new run)'}, folder {config.trainer.get('default_root_dir')}"
    )


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
        args = expand_stacks(list(args) if args is not None else sys.argv[1:])
        self._command_line = args
        # not super(): it warns whenever a list is given while sys.argv is set, which is always the case here
        self.config = parser.parse_args(args)
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return
        config = self.config[subcommand]
        root = config.trainer.get("default_root_dir")
        if subcommand != "fit" and config.get("ckpt_path") is None:
            config.ckpt_path = evaluation_checkpoint(subcommand, root)
        if subcommand == "fit" and config.get("ckpt_path") is None:
            refuse_a_used_folder(root)
        path = config.get("ckpt_path")
        check_checkpoint(path)
        if path == "last":
            path = str(run_checkpoints(root)[1] or "")
        if path and Path(path).is_file():
            check_same_method(path, (config.get("model") or {}).get("class_path"))
        print(run_summary(subcommand, config, path), file=sys.stderr)

    def _parse_ckpt_path(self) -> None:
        """Lightning replaces the model config by the checkpoint's hyperparameters; model options given
        on the command line (e.g. ``--model.init_args.mc_samples 10`` at test time) still win."""
        super()._parse_ckpt_path()
        subcommand = self.config.get("subcommand")
        if subcommand and self.config[subcommand].get("ckpt_path"):
            config = self.config[subcommand]
            for key, value in model_overrides(self._command_line):
                # plain options, and the optimizer's and scheduler's (a new learning rate to resume with);
                # other nested classes (the network) come from the checkpoint as a whole
                plain = key.count(".") == 2 or key.startswith(RESUME_OVERRIDABLE)
                if plain and key in config and not isinstance(config[key], (dict, Namespace)):
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

    def instantiate_trainer(self, **kwargs):
        # Lightning's default bar redraws after every batch; ours on a clock (callbacks/progress_bar.py),
        # unless the config chose a bar or turned bars off
        config = self._get(self.config_init, "trainer", default={})
        chosen = config.get("callbacks") or []
        chosen = chosen if isinstance(chosen, list) else [chosen]
        if config.get("enable_progress_bar") is not False and not any(isinstance(c, ProgressBar) for c in chosen):
            kwargs.setdefault("callbacks", [*chosen, ThrottledProgressBar()])
        trainer = super().instantiate_trainer(**kwargs)
        # a SIGTERM mid-epoch leaves a resumable last.ckpt; checkpoints are written atomically (unless the
        # config chose its own checkpoint IO)
        trainer.callbacks.append(PreemptionCheckpoint())
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
            trainer.strategy.checkpoint_io = AtomicCheckpointIO()
        return trainer

    def after_fit(self) -> None:
        if not self.config.fit.get("test_after_fit"):
            return
        checkpoint = self.trainer.checkpoint_callback
        best = checkpoint.best_model_path if checkpoint is not None else ""
        self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None)


def main(args: list[str] | None = None) -> DenoisingCLI:
    try:
        return DenoisingCLI(args=args)
    except SIGTERMException:
        # Lightning's own exit status here is 0, which a scheduler would read as a finished job
        sys.exit(SIGTERM_EXIT_STATUS)
