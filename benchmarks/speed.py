"""``tsgl-speed`` from a clone of the repository: the program lives in ``tsgl_encoder.bench.speed``
(``python benchmarks/speed.py --help``)."""

from tsgl_encoder.bench.speed import cli

if __name__ == "__main__":
    cli()
