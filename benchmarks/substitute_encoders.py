"""``tsgl-benchmark`` from a clone of the repository: the program lives in ``tsgl_encoder.bench.benchmark``
(``python benchmarks/substitute_encoders.py --help``)."""

from tsgl_encoder.bench.benchmark import cli

if __name__ == "__main__":
    cli()
