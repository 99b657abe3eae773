"""``python -m tsgl_encoder.bench.benchmark`` (and ``torchrun ... -m tsgl_encoder.bench.benchmark``)."""

from .program import cli

cli()
