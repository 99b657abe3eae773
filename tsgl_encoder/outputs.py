"""Where the library writes: never over a user's input, never over a file it did not create, one run at a time.

Every command that writes (``tsgl-evaluate``, ``tsgl-benchmark``, ``tsgl-speed``, ``tsgl-inpaint``) and
``save_pretrained`` write through an :class:`OutputFolder`:

* :func:`check_location` refuses an output location that is, contains or lies inside one of the inputs;
* the folder keeps a ledger (``.tsgl-written``) of the files this library wrote into it; a file that
  exists and is not in the ledger was not written by the library and is never replaced (the error names it).
  Files it wrote before (the results of an earlier run) are replaced;
* a lock file (``.tsgl-lock``, created exclusively, holding the process id and the command) keeps a second
  run from writing into the same folder at the same time: it is refused, naming the first. A lock left by a
  process that no longer runs is taken over, with a warning.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path


class OutputError(ValueError):
    """An output location the library refuses: among the inputs, holding files it did not write, or locked."""


LEDGER = ".tsgl-written"  # one relative path per line, appended as files are written
LOCK = ".tsgl-lock"
FRESH_LOCK_SECONDS = 10.0  # an unreadable lock younger than this is one being written: its run is starting


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_location(out: str | Path, inputs: Iterable[tuple[str, str | Path | None]], flag: str = "--out") -> None:
    """``ValueError`` when ``out`` is, contains or lies inside one of ``inputs`` (``(flag, path)`` pairs)."""
    target = Path(out).resolve()
    for name, path in inputs:
        if path is None:
            continue
        source = Path(path).resolve()
        if _inside(target, source):
            raise OutputError(f"{flag} {str(out)!r} is or lies inside {name} {str(path)!r}: choose a location outside "
                             "the inputs (nothing is ever written among them)")
        if _inside(source, target):
            raise OutputError(f"{flag} {str(out)!r} contains {name} {str(path)!r}: choose a location that holds no "
                             "input (its files could be replaced)")
    if target.exists() and not target.is_dir():
        raise OutputError(f"{flag} {str(out)!r} exists and is not a folder")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class OutputFolder:
    """A folder this library writes into (see the module docstring); a context manager holding its lock."""

    def __init__(self, folder: str | Path, command: str, flag: str = "--out") -> None:
        self.folder, self.command, self.flag = Path(folder), command, flag
        self._written: set[str] = set()
        self._locked = False

    # ------------------------------------------------------------------ lock
    def __enter__(self) -> OutputFolder:
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = self.folder / LOCK
        for _ in range(2):
            try:
                descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_or_refuse(lock)
                continue
            with os.fdopen(descriptor, "w") as handle:
                handle.write(json.dumps({"pid": os.getpid(), "command": self.command}))
            self._locked = True
            break
        else:
            raise OutputError(f"{self.flag} {str(self.folder)!r}: its lock {str(lock)!r} keeps reappearing: another "
                              f"run is starting there; choose another {self.flag}")
        self._written = self._read_ledger()
        return self

    def _take_over_or_refuse(self, lock: Path) -> None:
        """Refuses while the lock's process runs (or the lock is being written: younger than
        :data:`FRESH_LOCK_SECONDS`); removes the lock of a process that no longer runs, with a warning."""
        holder = self._holder(lock)
        try:
            fresh = time.time() - lock.stat().st_mtime < FRESH_LOCK_SECONDS
        except OSError:
            return  # removed meanwhile: try again
        if (holder is not None and _alive(holder[0])) or (holder is None and fresh):
            who = f"{holder[1]}, process {holder[0]}" if holder else "starting"
            raise OutputError(f"{self.flag} {str(self.folder)!r} is being written by another run ({who}; lock "
                              f"{str(lock)!r}): wait for it or choose another {self.flag}")
        warnings.warn(f"{self.flag} {str(self.folder)!r}: taking over the lock of a run that no longer runs "
                      f"({holder[1] if holder else 'unreadable lock'})", stacklevel=3)
        lock.unlink(missing_ok=True)

    def __exit__(self, *_: object) -> None:
        if self._locked:
            (self.folder / LOCK).unlink(missing_ok=True)
            self._locked = False

    @staticmethod
    def _holder(lock: Path) -> tuple[int, str] | None:
        try:
            content = json.loads(lock.read_text())
            return int(content["pid"]), str(content["command"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # ------------------------------------------------------------------ ledger
    def _read_ledger(self) -> set[str]:
        path = self.folder / LEDGER
        try:
            return {line for line in path.read_text(encoding="utf-8").splitlines() if line} if path.is_file() else set()
        except (OSError, UnicodeDecodeError):
            return set()

    def _key(self, path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            raise ValueError(f"{str(path)!r} is not inside the output folder {str(self.folder)!r}") from None

    def reserve(self, paths: Iterable[str | Path], ours: Callable[[Path], bool] | None = None) -> list[Path]:
        """Checks that every path (inside the folder) is new or was written by this library (``ours(path)`` may
        recognise files written before the ledger existed), then records them all in the ledger before anything
        is written, so a run killed half-way still owns its files. ``ValueError`` lists the files refused."""
        paths = [Path(path) for path in paths]
        keys = [self._key(path) for path in paths]
        refuse_foreign([path for path, key in zip(paths, keys, strict=True) if key not in self._written], ours,
                       f"{self.flag} {str(self.folder)!r}", self.flag)
        new = [key for key in dict.fromkeys(keys) if key not in self._written]
        if new:
            with open(self.folder / LEDGER, "a", encoding="utf-8") as ledger:
                ledger.write("".join(f"{key}\n" for key in new))
            self._written.update(new)
        return paths


def refuse_foreign(paths: Iterable[Path], ours: Callable[[Path], bool] | None, where: str, flag: str) -> None:
    """``ValueError`` listing the ``paths`` that exist and are not recognised by ``ours`` as the library's."""
    foreign = [str(path) for path in paths if path.exists() and not (ours is not None and ours(path))]
    if foreign:
        more = f" and {len(foreign) - 10} more" if len(foreign) > 10 else ""
        raise OutputError(f"{len(foreign)} file(s) in {where} exist and were not written by this library: "
                         f"{', '.join(foreign[:10])}{more}; refusing to replace them (move them, or choose another "
                         f"{flag})")


__all__ = ["LEDGER", "LOCK", "OutputError", "OutputFolder", "check_location", "refuse_foreign"]
