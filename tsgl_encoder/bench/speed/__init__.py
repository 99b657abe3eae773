"""``tsgl-speed``: the speed of the TSGL encoder and of the swapped hosts, each against what users would run
instead (``subjects`` -> ``timing`` with ``gemm`` rates -> ``targets`` / ``report``; ``parity``: the official
encoder beside ``tsgl_base``; ``op_profile``: where the time goes; ``program``: the command line)."""

from .program import cli, main
from .subjects import Subject, host_subjects, tsgl_subjects
from .targets import targets
from .timing import Settings, measure, run

__all__ = ["Settings", "Subject", "cli", "host_subjects", "main", "measure", "run", "targets", "tsgl_subjects"]
