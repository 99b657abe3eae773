"""The hosts of the harness, by name: what the benchmark, ``tsgl-speed`` and ``tsgl-evaluate`` know of
each generator family (how to build it with its own or TSGL's encoder, call it, train it, time it, load
its published checkpoints). The models themselves live in ``adapters/<host>``; adding a host is one
file here and one line in :data:`HOSTS`.
"""

from __future__ import annotations

from ..training.host import Host
from .ctsdg import CTSDG_LOSSES, CTSDGAdversary, CTSDGHost
from .lama import LAMA_LOSSES, LamaAdversary, LamaHost
from .mat import MAT_LOSSES, MATAdversary, MATHost
from .medfe import MEDFE_LOSSES, MEDFEAdversary, MEDFEHost
from .smp_unet import SMP_UNET_LOSSES, SmpUnetHost

# smp_unet needs the [smp] extra when one of its models is built (segmentation_models_pytorch)
HOSTS: dict[str, type[Host]] = {"lama": LamaHost, "ctsdg": CTSDGHost, "mat": MATHost, "medfe": MEDFEHost,
                                "smp_unet": SmpUnetHost}


def list_hosts() -> list[str]:
    return list(HOSTS)


def checkpoint_hosts() -> dict[str, type[Host]]:
    """Every name ``tsgl-evaluate --host`` accepts (each host's own and its :attr:`~Host.checkpoint_kinds`,
    e.g. ``tsgl_medfe``) -> the host that runs such a file."""
    return {kind: host for host in HOSTS.values() for kind in (host.name, *host.checkpoint_kinds)}


def create_host(name: str, **settings) -> Host:
    """The host ``name`` (``settings``: its fields, e.g. ``preset``, ``overrides``, ``encoder``)."""
    if name not in HOSTS:
        raise ValueError(f"unknown host {name!r}; available: {list_hosts()}")
    return HOSTS[name](**settings)


__all__ = [
    "CTSDG_LOSSES",
    "HOSTS",
    "LAMA_LOSSES",
    "MAT_LOSSES",
    "MEDFE_LOSSES",
    "SMP_UNET_LOSSES",
    "CTSDGAdversary",
    "CTSDGHost",
    "Host",
    "LamaAdversary",
    "LamaHost",
    "MATAdversary",
    "MATHost",
    "MEDFEAdversary",
    "MEDFEHost",
    "SmpUnetHost",
    "checkpoint_hosts",
    "create_host",
    "list_hosts",
]
