"""What the training loop needs to know about a host model: how to build it, call it, and its losses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from functools import cached_property
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from ...checkpoints import load_file, load_state_strict
from ...inpainting import SizeRule
from ...registry import ablation_overrides
from ..losses import edge_loss, masked_l1
from .adversary import Adversary, PatchGANAdversary
from .spec import EncoderPart, LossNetworks, LossWeights, Prediction
from .variants import Variant, fit_width, parse_variant

EDGE_HEAD = "edge_head"  # the generator's attribute holding the auxiliary structure (edge) head, if any
RUN_KEYS = ("host", "variant", "generator")  # what marks a checkpoint written by this harness's training loop
_PLAIN = (str, int, float, bool, type(None))


def generator_parameters(model: nn.Module) -> int:
    """Parameters of the generator as it runs at inference: without the auxiliary edge head."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith(f"{EDGE_HEAD}."))


@contextmanager
def without_edge_head(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with its auxiliary edge head taken off for the block (put back afterwards)."""
    head = model._modules.pop(EDGE_HEAD, None)
    try:
        yield model
    finally:
        if head is not None:
            model._modules[EDGE_HEAD] = head


class Host(ABC):
    """A host generator family (LaMa, CTSDG, MAT): builds the model with its own or TSGL's encoder."""

    name: str = "host"
    native_losses: LossWeights = LossWeights()
    size_multiple: int = 1  # height and width must be multiples of this (CTSDG: 128)
    perceptual_on_composite: bool = False  # perceptual/style also on the composite (CTSDG), not only the output
    perceptual_layers: dict[str, float] | None = None  # VGG taps and weights (None: the file's defaults)

    structure_head: bool = False  # trains TSGL's auxiliary edge head (and can give its own encoder one)
    min_train_batch: int = 1  # BatchNorm on 1x1 maps needs two samples in training mode (CTSDG)

    @abstractmethod
    def build_own(self, width: int | None = None) -> nn.Module:
        """The generator with its own encoder, freshly initialised; ``width`` widens that encoder (the
        ``own_wide`` control, in the units of :meth:`widening_range`; None: as published)."""

    @abstractmethod
    def swap_encoder(self, model: nn.Module, overrides: dict | None = None) -> nn.Module:
        """``model`` with TSGL's freshly initialised encoder in place of its own (every other weight kept);
        ``overrides`` replace fields of the encoder's :class:`~tsgl_encoder.TSGLConfig` (the ablations)."""

    @abstractmethod
    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        """Runs ``model`` on ``image (B, 3, H, W)`` in [-1, 1] with ``mask (B, 1, H, W)`` (1 = known)."""

    def widening_range(self) -> tuple[int, int]:
        """The range of :meth:`build_own`'s ``width`` (its published value first)."""
        raise TypeError(f"host {self.name!r} ({type(self).__name__}) cannot widen its own encoder: override "
                        "widening_range and build_own(width)")

    def add_edge_head(self, model: nn.Module) -> nn.Module:
        """``model`` with the auxiliary edge head (TSGL's structure supervision) on its encoder."""
        raise TypeError(f"host {self.name!r} ({type(self).__name__}) has no auxiliary edge head")

    def load_pretrained(self, path: str) -> nn.Module:
        """The host's generator from a published checkpoint (its adapter's ``load_checkpoint``)."""
        raise TypeError(f"host {self.name!r} ({type(self).__name__}) has no checkpoint loader: override "
                        "load_pretrained to start from a checkpoint")

    checkpoint_kinds: tuple[str, ...] = ()  # other names of published files this host runs (``tsgl_medfe``)
    prior_choices: tuple[str, ...] = ("masked",)  # how its generator's priors can be computed (``--priors``)

    @classmethod
    def from_checkpoint(cls, path: str | Path, kind: str | None = None) -> tuple[nn.Module, Host]:
        """``(model, host)``: the generator of ``path`` in eval mode and a host configured to run it
        (``tsgl-evaluate --host``). ``path``: a checkpoint written by this harness's training loop (any variant:
        the host's settings and the variant are read from it) or a published file of ``kind`` (the host's name
        or one of :attr:`checkpoint_kinds`)."""
        kind = cls.name if kind is None else kind
        if kind not in (cls.name, *cls.checkpoint_kinds):
            raise ValueError(f"host {cls.name!r} reads checkpoints of kind {[cls.name, *cls.checkpoint_kinds]}, "
                             f"got {kind!r}")
        run = read_run_file(path)
        if run is not None:
            return cls.from_run(run, path)
        return cls.from_published(path, kind)

    @classmethod
    def from_run(cls, run: dict, path: str | Path) -> tuple[nn.Module, Host]:
        """The generator of a training checkpoint ``run`` (its ``host``, ``host_settings``, ``variant``)."""
        if run["host"] != cls.name:
            raise ValueError(f"{str(path)!r} was trained with host {run['host']!r}, not {cls.name!r}: pass "
                             f"--host {run['host']}")
        host = cls(**run.get("host_settings", {}))
        model = host.build(run["variant"])
        load_state_strict(model, run["generator"], f"{cls.name} {run['variant']!r} training checkpoint "
                                                   f"{str(path)!r}")
        return model.eval(), host

    @classmethod
    def from_published(cls, path: str | Path, kind: str) -> tuple[nn.Module, Host]:
        """A published file's generator and a default host (hosts whose settings depend on the file override)."""
        host = cls()
        return host.load_pretrained(str(path)), host

    def settings(self) -> dict:
        """The host's constructor fields that are plain data (what a training checkpoint stores to rebuild it)."""
        if not is_dataclass(self):
            return {}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init and _is_plain(getattr(self, f.name))}

    def size_rule(self, model: nn.Module) -> SizeRule:
        """The sizes ``model`` inpaints at (``tsgl-inpaint``): the model's own ``size_rule`` if it has one, else
        multiples of :attr:`size_multiple` (at least 8), trained at 256."""
        own = getattr(model, "size_rule", None)
        if isinstance(own, SizeRule):
            return own
        multiple = max(8, self.size_multiple)
        return SizeRule(multiple, multiple, 256)

    def use_priors(self, model: nn.Module, kind: str) -> nn.Module:
        """``model`` computing its priors as ``kind`` says (one of :attr:`prior_choices`)."""
        if kind not in self.prior_choices:
            raise ValueError(f"priors {kind!r}: host {self.name!r} computes its priors only as "
                             f"{list(self.prior_choices)}")
        return model

    # ------------------------------------------------------------------ timing
    @property
    def label(self) -> str:
        """The generator's name in reports (a preset's name where the host has several)."""
        return self.name

    def example_inputs(self, batch: int, size: int, device: torch.device) -> tuple:
        """Positional inputs of the generator's own ``forward`` for :func:`~.spec.example_batch` (timing)."""
        raise TypeError(f"host {self.name!r} ({type(self).__name__}) gives no example inputs: override "
                        "example_inputs to time it")

    def encoder_part(self, model: nn.Module) -> EncoderPart:
        """The encoder of ``model`` (its own, or TSGL's after the swap) as a runnable part, fed
        :meth:`example_inputs`."""
        raise TypeError(f"host {self.name!r} ({type(self).__name__}) names no encoder part: override encoder_part")

    # ------------------------------------------------------------------ variants
    def build(self, variant: str | Variant) -> nn.Module:
        """The generator of ``variant`` (see :mod:`~tsgl_encoder.bench.training.variants`), freshly initialised."""
        variant = parse_variant(variant)
        if variant.wide:  # matched_width says why, when it cannot
            return self._finish(self.build_own(self.matched_width), variant)
        return self._finish(self.build_own(), self.check_variant(variant))

    def build_pretrained(self, variant: str | Variant, path: str) -> nn.Module:
        """Substitution from a pretrained host: ``"own"`` is the checkpoint as it is; ``"tsgl"`` the same
        checkpoint with TSGL's freshly initialised encoder swapped in (``tsgl:NAME`` ablated, ``*_edge``
        variants with / without the edge head). ``own_wide`` cannot start from a checkpoint."""
        variant = self.check_variant(variant)
        if variant.wide:
            raise ValueError("variant 'own_wide' changes the encoder's shapes: it cannot start from a checkpoint "
                             f"({path!r})")
        return self._finish(self.load_pretrained(path).train(), variant)

    def _finish(self, model: nn.Module, variant: Variant) -> nn.Module:
        if variant.encoder == "tsgl":
            model = self.swap_encoder(model, ablation_overrides(variant.ablation) if variant.ablation else None)
        if variant.edge_head and self.structure_head:
            model = self.add_edge_head(model)
        elif not variant.edge_head and variant.encoder == "tsgl" and hasattr(model, EDGE_HEAD):
            del model.edge_head  # tsgl_no_edge from a checkpoint that has one
        return model

    @cached_property
    def matched_width(self) -> int:
        """The own encoder's width at which the generator has the ``tsgl`` variant's parameter count
        (computed once per host)."""
        with torch.device("meta"):  # shapes only: counting costs no memory and no initialisation
            target = generator_parameters(self.build("tsgl"))
            low, high = self.widening_range()
            own = generator_parameters(self.build_own(low))
            if target <= own:
                raise ValueError(f"host {self.name!r}: the TSGL variant ({target / 1e6:.2f} M parameters) is not "
                                 f"larger than its own ({own / 1e6:.2f} M): own_wide has nothing to widen")
            return fit_width(lambda width: generator_parameters(self.build_own(width)), target, low, high)

    def variant_problem(self, variant: str | Variant) -> str | None:
        """Why this host cannot train ``variant`` (or why it would repeat another), or None when it can."""
        variant = parse_variant(variant)
        if not self.structure_head and variant.name == "own_edge":
            return "has no auxiliary edge head for its own encoder (its losses have no structure term)"
        if not self.structure_head and variant.name == "tsgl_no_edge":
            return "trains its TSGL variant without an edge head already: tsgl_no_edge would repeat tsgl"
        if variant.wide:
            try:
                _ = self.matched_width  # computed (and cached) here, or why not
            except (TypeError, ValueError) as error:
                return str(error)
        return None

    def check_variant(self, variant: str | Variant) -> Variant:
        """``variant`` parsed; ``ValueError`` for unknown names and for variants this host cannot train."""
        variant = parse_variant(variant)
        problem = self.variant_problem(variant)
        if problem:
            raise ValueError(f"host {self.name!r} cannot train variant {variant.name!r}: {problem}")
        return variant

    # ------------------------------------------------------------------ counts
    def parameter_counts(self, model: nn.Module) -> dict[str, int]:
        """Parameters of the ``generator`` at inference, of its ``encoder`` part and of the ``edge_head``."""
        head = getattr(model, EDGE_HEAD, None)
        return {"generator": generator_parameters(model), "encoder": self.encoder_parameters(model),
                "edge_head": 0 if head is None else sum(p.numel() for p in head.parameters())}

    def flops(self, model: nn.Module, size: int) -> int:
        """Forward FLOPs of one ``size`` x ``size`` image at inference (eval mode, without the edge head)."""
        reference = next(model.parameters())
        image = torch.zeros(1, 3, size, size, device=reference.device)
        mask = torch.ones(1, 1, size, size, device=reference.device)
        mask[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 0
        was_training = model.training
        try:
            with without_edge_head(model.eval()), torch.no_grad(), FlopCounterMode(display=False) as counter:
                self.predict(model, image, mask)
        finally:
            model.train(was_training)
        return counter.get_total_flops()

    def build_adversary(self, losses: LossWeights, width: int) -> Adversary | None:
        """The discriminator side (default: a PatchGAN of ``width`` channels); None without adversarial terms."""
        if losses.adversarial_weight <= 0 and losses.feature_matching <= 0:
            return None
        return PatchGANAdversary(losses, width)

    def reconstruction_terms(
        self, batch: dict[str, Tensor], prediction: Prediction, losses: LossWeights, networks: LossNetworks
    ) -> dict[str, Tensor]:
        """The generator's non-adversarial terms, weighted: hole/valid L1, perceptual and style on the
        output (and composite, see ``perceptual_on_composite``), ResNet-PL, and the TSGL structure (edge)
        loss when the prediction has an edge map."""
        image, mask = batch["image"], batch["mask"]
        output = prediction.output.float()
        terms = {"l1": masked_l1(output, image, mask, losses.l1_hole, losses.l1_valid)}
        if networks.resnet_pl is not None and losses.resnet_pl > 0:  # LaMa: raw output vs image, both in [0, 1]
            terms["resnet_pl"] = losses.resnet_pl * networks.resnet_pl((output + 1) / 2, (image + 1) / 2)
        vgg = networks.vgg
        if vgg is not None:
            target = vgg.extract(image)
            judged = [output, prediction.composite(image, mask)] if self.perceptual_on_composite else [output]
            features = [vgg.extract(x) for x in judged]
            if losses.perceptual > 0:
                terms["perceptual"] = losses.perceptual * sum(vgg.distance(f, target) for f in features)
            if losses.style > 0:
                terms["style"] = losses.style * sum(vgg.style_distance(f, target) for f in features)
        if prediction.edge is not None and losses.edge > 0:
            terms["edge"] = losses.edge * edge_loss(prediction.edge.float(), batch["edge"], mask)
        return terms

    def encoder_parameters(self, model: nn.Module) -> int:
        """Parameters of the part that the swap replaces (for the results table)."""
        return sum(p.numel() for p in model.parameters())

    def requirement_problem(self) -> str | None:
        """What this host needs that is not installed (an optional extra), or None."""
        return None

    def size_problem(self, size: int) -> str | None:
        """Why square images of ``size`` cannot be trained on, or None when they can."""
        if size % self.size_multiple:
            return f"needs sizes that are multiples of {self.size_multiple}"
        return None


def host_available(host: Host, named: bool) -> bool:
    """Whether ``host``'s optional packages are installed. When not: ``ValueError`` if the user ``named`` the
    host, else a printed note and False (a default list of hosts goes on without it)."""
    missing = host.requirement_problem()
    if missing and named:
        raise ValueError(f"host {host.name!r} {missing}")
    if missing:
        print(f"left out host {host.name!r}: it {missing}")
    return not missing


def _is_plain(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return isinstance(value, _PLAIN)


def read_run_file(path: str | Path) -> dict | None:
    """The contents of a checkpoint written by the training loop (``checkpoint.pt``), or None when ``path``
    is another kind of file (or a folder). Read without running code from it."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = load_file(path, mmap=True)  # a look at the structure: published weights are read once, later
    except ValueError:  # not a torch.save file of plain data (a Lightning checkpoint, a network pickle, ...)
        return None
    if isinstance(state, dict) and all(key in state for key in RUN_KEYS) and isinstance(state["host"], str):
        return state
    return None
