"""Headless Chromium for tests that look at pages the way a reader does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    return path


def render(url: str, profile: Path, *, screenshot: Path | None = None) -> str:
    """The DOM after scripts ran (and optionally a screenshot)."""
    args = [
        chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
    ]
    if screenshot is not None:
        subprocess.run(
            [*args, "--window-size=1200,3000", f"--screenshot={screenshot}", url],
            check=True,
            capture_output=True,
            timeout=120,
        )
    done = subprocess.run(
        [*args, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout
