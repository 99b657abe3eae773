"""Headless Chromium for looking at ``report.html``: a DOM dump or a screenshot, never a hang.

Chromium starts helper processes (zygote, renderer, GPU) that inherit its output pipes, so killing the
main process on a timeout alone can leave a caller waiting on those pipes for ever. Here each run gets
its own process group (killed whole on a timeout), its output goes to a file rather than a pipe, its
profile lives in a fresh temporary folder, and background networking is off (this machine's network is
closed: without those flags Chromium keeps retrying refused connections).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000")


def chromium() -> str | None:
    """Path of Debian's ``chromium`` (or ``chromium-browser``), or None when neither is installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(arguments: list[str], timeout: float) -> str:
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="tsgl-chromium-") as profile, \
            tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen([browser, *FLAGS, f"--user-data-dir={profile}", *arguments],
                                   stdout=output, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            status = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise TimeoutError(f"chromium did not finish {arguments[-1]} within {timeout:g} s") from None
        finally:
            with contextlib.suppress(ProcessLookupError):  # helpers left behind by a finished run
                os.killpg(process.pid, signal.SIGKILL)
        if status != 0:
            raise RuntimeError(f"chromium exited with status {status} on {arguments[-1]}")
        output.seek(0)
        return output.read()


def dump_dom(page: Path, timeout: float = 120) -> str:
    """The page's DOM after its scripts ran (``--dump-dom``)."""
    return _run(["--dump-dom", Path(page).resolve().as_uri()], timeout)


def screenshot(page: Path, path: Path, window: tuple[int, int] = (1400, 1000), timeout: float = 120) -> Path:
    """A PNG of the page at ``window`` (width, height) pixels, written to ``path``."""
    width, height = window
    _run([f"--window-size={width},{height}", f"--screenshot={Path(path).resolve()}",
          Path(page).resolve().as_uri()], timeout)
    return Path(path)
