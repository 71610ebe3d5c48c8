"""Headless Chromium for the browser tests: Debian's `chromium` package, installed by the test
setup when missing (browser downloads from the internet are not possible here, so Playwright's
own `playwright install` is never used), driven by Playwright for Python through
`executable_path`."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
LOCK_FILE = Path("/tmp/garment-chromium-install.lock")  # noqa: S108  (xdist workers share it)
APT_TIMEOUT_SECONDS = 900
# Chromium refuses to run as root inside its sandbox; the tests run as root in CI.
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]


class ChromiumUnavailable(RuntimeError):
    """Chromium is missing and the setup could not install it (the message says why)."""


def _apt(apt: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(
            [apt, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ChromiumUnavailable(
            f"`apt-get {' '.join(args)}` did not finish within {APT_TIMEOUT_SECONDS} s"
        ) from error


def ensure_chromium() -> str:
    """The path of Debian's Chromium, installing the package first when it is missing."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    apt = shutil.which("apt-get")
    if apt is None:
        raise ChromiumUnavailable(f"{CHROMIUM} is missing and there is no apt-get to install it")
    if os.geteuid() != 0:
        raise ChromiumUnavailable(
            f"{CHROMIUM} is missing; run `apt-get install -y chromium` as root (the tests "
            "install it themselves only when they run as root)"
        )
    # Two xdist workers must not run apt at once (dpkg's lock would fail the second).
    with LOCK_FILE.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return str(CHROMIUM)
        installed = _apt(apt, "install", "-y", "chromium")
        if installed.returncode != 0:  # an empty or stale package list: refresh it once
            _apt(apt, "update")
            installed = _apt(apt, "install", "-y", "chromium")
        if installed.returncode != 0:
            raise ChromiumUnavailable(
                "`apt-get install -y chromium` failed:\n" + installed.stderr[-2000:]
            )
        if not CHROMIUM.exists():
            raise ChromiumUnavailable(f"`apt-get install -y chromium` left no {CHROMIUM}")
    return str(CHROMIUM)
