"""One training loop for every host: seeded, resumable, atomic checkpoints, AMP, DDP under torchrun.

A run is a deterministic function of ``(config, seed)``: batch ``s`` comes from
:class:`~tsgl_encoder.bench.data.StepSampler` (seeded by step), and the checkpoint holds the models,
optimisers, RNG states and the loss history, so a run killed after a checkpoint and resumed ends
with the same weights as an uninterrupted one. Under ``torchrun`` it uses DistributedDataParallel
(gloo on CPU, NCCL on GPU) with SyncBatchNorm; each rank draws its own batches.

Under ``torchrun``, :func:`train` returns a trainer that holds no DistributedDataParallel wrapper: their
reducers keep the process group alive, and a wrapper that outlives ``destroy_process_group()`` can abort
the process at interpreter exit (SIGABRT after the work is done, which ``torchrun`` reports as a failed
job). So the rule for a user's script is only the usual one: call ``destroy_process_group()`` after the
last collective of your own; the models, optimisers and history of the returned trainer stay usable.
"""

from __future__ import annotations

import gc
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ...checkpoints import load_file
from ...hub import atomic_write
from ..data import InpaintingDataset, StepSampler
from ..losses import PerceptualLoss
from ..resnet_pl import ResNetPL
from .adversary import frozen
from .host import Host
from .spec import LossNetworks, LossWeights, Prediction


class RunMismatchError(ValueError):
    """A checkpoint to resume from that another run (other host, variant, config or losses) wrote."""


CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.previous.pt"  # the one before: resume falls back to it when the latest is damaged


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200
    batch_size: int = 8
    lr_generator: float = 2e-4
    lr_discriminator: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.99)
    seed: int = 0
    checkpoint_every: int = 50
    log_every: int = 10
    amp: bool = False  # bfloat16/float16 autocast (float16 + GradScaler on CUDA)
    workers: int = 0
    discriminator_width: int = 64  # the default PatchGAN's width (hosts with their own discriminator ignore it)
    perceptual_weights: str | None = None  # local VGG-16/19 state_dict for LossWeights.perceptual / style
    resnet_pl_weights: str | None = None  # local ADE20k resnet50dilated encoder for LossWeights.resnet_pl
    init_from: str | None = None  # a published host checkpoint to start from (Host.build_pretrained), else scratch


def _distributed() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def _wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """DDP when running distributed; SyncBatchNorm on CUDA (PyTorch's SyncBatchNorm is GPU-only, so gloo
    runs on CPU keep per-process BatchNorm statistics)."""
    if _distributed()[1] == 1:
        return module
    if device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return nn.parallel.DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None)


class Predictor(nn.Module):
    """``host.predict`` as a module, so that DDP sees the generator's whole forward pass."""

    def __init__(self, host: Host, model: nn.Module) -> None:
        super().__init__()
        self.host, self.model = host, model

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        prediction = self.host.predict(self.model, image, mask)  # a dict: DDP finds the tensors in it
        return {"output": prediction.output, "edge": prediction.edge, **prediction.extras}


def _prediction(outputs: dict[str, torch.Tensor]) -> Prediction:
    extras = {k: v for k, v in outputs.items() if k not in ("output", "edge")}
    return Prediction(outputs["output"], outputs["edge"], extras)


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


class Trainer:
    """Holds the models, optimisers and losses of one run; :func:`train` drives it."""

    def __init__(self, host: Host, variant: str, losses: LossWeights, config: TrainConfig) -> None:
        self.host, self.variant, self.losses, self.config = host, variant, losses, config
        self.device = _device()
        torch.manual_seed(config.seed)
        built = host.build(variant) if config.init_from is None else host.build_pretrained(variant, config.init_from)
        self.model = built.to(self.device)
        self.generator = _wrap(Predictor(host, self.model), self.device)
        adversary = host.build_adversary(losses, config.discriminator_width)
        self.adversary = None if adversary is None else _wrap(adversary.to(self.device), self.device)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), config.lr_generator, betas=config.betas)
        self.opt_d = None
        if self.adversary is not None:
            self.opt_d = torch.optim.Adam(self.adversary.parameters(), config.lr_discriminator, betas=config.betas)
        self.networks = LossNetworks(
            vgg=self._loss_network(losses.perceptual > 0 or losses.style > 0, config.perceptual_weights,
                                   lambda path: PerceptualLoss(path, host.perceptual_layers), "perceptual / style",
                                   "perceptual_weights", "a local torchvision VGG-16 or VGG-19 file"),
            resnet_pl=self._loss_network(losses.resnet_pl > 0, config.resnet_pl_weights, ResNetPL, "resnet_pl",
                                         "resnet_pl_weights", "LaMa's local ADE20k resnet50dilated encoder file"),
        )
        cuda_amp = config.amp and self.device.type == "cuda"
        self.amp_dtype = torch.float16 if cuda_amp else torch.bfloat16
        self.scaler = torch.amp.GradScaler("cuda", enabled=cuda_amp)
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.released = False

    def release_distributed(self) -> None:
        """Drops the DistributedDataParallel wrappers of the generator and the adversary (the modules, their
        weights and the optimisers stay) and collects them, so that no reducer, hook or process-group
        reference survives; :func:`train` calls it before it returns. Training further needs a new
        :func:`train` call (``resume=True``)."""
        wrapped = isinstance(self.generator, nn.parallel.DistributedDataParallel) or isinstance(
            self.adversary, nn.parallel.DistributedDataParallel)
        self.generator = _unwrap(self.generator)
        self.adversary = None if self.adversary is None else _unwrap(self.adversary)
        self.released = True
        if wrapped:
            gc.collect()  # the wrappers sit in reference cycles (hooks, reducer): free them now, not at exit

    def _loss_network(self, needed: bool, path: str | None, build, term: str, field: str, what: str):
        if not needed:
            return None
        if not path:
            raise ValueError(f"LossWeights.{term} > 0 needs TrainConfig.{field} ({what})")
        return build(path).to(self.device)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.config.amp)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        if self.released and _distributed()[1] > 1:
            raise RuntimeError("this trainer's DistributedDataParallel wrappers were released when train() "
                               "returned; continue with train(..., resume=True)")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with self._autocast():
            prediction = _prediction(self.generator(batch["image"], batch["mask"]))
        prediction.output = prediction.output.float()

        d_loss = torch.zeros(())
        if self.adversary is not None:  # discriminator first, on the detached prediction
            self.opt_d.zero_grad(set_to_none=True)
            d_loss = self.adversary(batch, prediction.detach())
            self.scaler.scale(d_loss).backward()
            self.scaler.step(self.opt_d)

        self.opt_g.zero_grad(set_to_none=True)
        terms = self.host.reconstruction_terms(batch, prediction, self.losses, self.networks)
        if self.adversary is not None:
            with frozen(_unwrap(self.adversary)) as adversary:  # frozen: nothing of it to synchronise
                terms.update(adversary.generator_terms(batch, prediction))
        g_loss = sum(terms.values())
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        self.step += 1
        return {"step": self.step, "g_total": g_loss.item(), "d": d_loss.item(),
                **{k: v.item() for k, v in terms.items()}, "skipped": int(batch["skipped"].sum())}

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        return {
            "step": self.step, "variant": self.variant, "host": self.host.name,
            "host_settings": self.host.settings(),
            "config": asdict(self.config), "losses": asdict(self.losses),
            "generator": self.model.state_dict(),
            "adversary": None if self.adversary is None else _unwrap(self.adversary).state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": None if self.opt_d is None else self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(), "torch_rng": torch.get_rng_state(), "history": self.history,
        }

    def save(self, directory: Path) -> None:
        """Writes ``checkpoint.pt`` atomically, keeping the one before as ``checkpoint.previous.pt``."""
        if _distributed()[0] == 0:
            if (directory / CHECKPOINT).is_file():
                os.replace(directory / CHECKPOINT, directory / PREVIOUS)
            atomic_write(directory / CHECKPOINT, lambda path: torch.save(self.state_dict(), path))
            history = json.dumps(self.history)
            atomic_write(directory / "history.json", lambda path: Path(path).write_text(history))

    def load(self, path: Path, state: dict | None = None) -> None:
        """Continues from the checkpoint ``state`` (read from ``path`` when not given) of this same run."""
        state = load_file(path, self.device) if state is None else state
        expected = {"host": self.host.name, "variant": self.variant, "config": asdict(self.config),
                    "losses": asdict(self.losses), "host_settings": self.host.settings()}
        for key, value in expected.items():
            found = state.get(key, value if key == "host_settings" else None)  # older files lack the settings
            if key == "config":  # the step budget may grow on resume
                found = {**found, "steps": value["steps"]} if isinstance(found, dict) else found
                found = {k: tuple(v) if isinstance(v, list) else v for k, v in found.items()}
            if found != value:
                raise RunMismatchError(f"checkpoint {str(path)!r} is from another run: its {key} is {found}, "
                                       f"this run's is {value}")
        self.model.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.adversary is not None:
            _unwrap(self.adversary).load_state_dict(state["adversary"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"].cpu())
        self.step, self.history = state["step"], state["history"]


def read_checkpoint(directory: Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict] | None:
    """``(path, state)`` of the newest readable checkpoint in ``directory``, or None when it has none.

    A damaged ``checkpoint.pt`` (truncated, empty) falls back to ``checkpoint.previous.pt`` with a warning
    naming both; when checkpoints exist but none can be read, ``ValueError`` names the folder.
    """
    problems = []
    for path in (directory / CHECKPOINT, directory / PREVIOUS):
        if not path.is_file():
            continue
        try:
            state = load_file(path, map_location)
        except ValueError as error:
            problems.append(str(error))
            continue
        if problems or path.name == PREVIOUS:
            latest = problems[0] if problems else f"{str(directory / CHECKPOINT)!r} is missing"
            warnings.warn(f"resuming from the previous checkpoint {str(path)!r}: {latest}", stacklevel=3)
        return path, state
    if problems:
        raise ValueError(f"no readable checkpoint in {str(directory)!r}: " + "; ".join(problems))
    return None


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Deletes the temporary files :func:`~tsgl_encoder.hub.atomic_write` leaves when a run is killed while it
    writes a checkpoint (``.checkpoint.pt.*.tmp``, ``.history.json.*.tmp``): only those names, only here."""
    stale = [path for name in (CHECKPOINT, "history.json") for path in directory.glob(f".{name}.*.tmp")]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def train(host: Host, variant: str, dataset: InpaintingDataset, config: TrainConfig, out_dir: str | Path,
          losses: LossWeights | None = None, resume: bool = False, progress: bool = True) -> Trainer:
    """Trains ``host``'s ``variant`` for ``config.steps`` steps; checkpoints into ``out_dir``.

    ``resume=True`` continues from ``out_dir/checkpoint.pt`` when it exists, after removing the temporary
    files a killed run left half-written (:func:`remove_stale_temporaries`).
    """
    variant = host.check_variant(variant).name
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if resume and _distributed()[0] == 0:
        remove_stale_temporaries(out_dir)
    trainer = Trainer(host, variant, losses or host.native_losses, config)
    try:
        found = read_checkpoint(out_dir, trainer.device) if resume else None
        if found is not None:
            trainer.load(*found)
        remaining = config.steps - trainer.step
        if remaining > 0:
            _run_steps(trainer, dataset, out_dir, remaining, progress)
    finally:
        trainer.release_distributed()
    return trainer


def _run_steps(trainer: Trainer, dataset: InpaintingDataset, out_dir: Path, remaining: int, progress: bool) -> None:
    config, host, variant = trainer.config, trainer.host, trainer.variant
    rank, _ = _distributed()
    sampler = StepSampler(len(dataset), config.batch_size, config.seed, trainer.step, remaining, rank)
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
                        persistent_workers=False)
    trainer.model.train()
    if trainer.adversary is not None:
        trainer.adversary.train()
    bar = tqdm(loader, total=remaining, disable=not progress or rank != 0,
               desc=f"{host.name}/{variant} seed {config.seed}", initial=0, leave=False)
    for batch in bar:
        record = trainer.train_step(batch)
        if trainer.step % config.log_every == 0 or trainer.step == config.steps:
            trainer.history.append(record)
            bar.set_postfix(g=f"{record['g_total']:.3f}", d=f"{record['d']:.3f}")
        if trainer.step % config.checkpoint_every == 0 or trainer.step == config.steps:
            trainer.save(out_dir)
