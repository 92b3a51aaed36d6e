"""Debian's `age` and `age-keygen` (the Go reference implementation of age) for the
cross-checks of pyrage's files. Without them the tests skip, saying how to install them,
except under `CI=true`, where they fail (`scripts/install-system.sh` installs them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_HINT = "`make install` as root installs Debian's age (apt-get install age)"


def age_program(name: str = "age") -> str:
    found = shutil.which(name)
    if found:
        return found
    reason = f"no `{name}` on PATH; {INSTALL_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def keygen(directory: Path, name: str = "key.txt") -> tuple[Path, str]:
    """A fresh identity file written by `age-keygen` (mode 0600) and its recipient."""
    path = directory / name
    subprocess.run([age_program("age-keygen"), "-o", str(path)], check=True, capture_output=True)
    public = subprocess.run(
        [age_program("age-keygen"), "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return path, public


def run_age(*args: str, stdin: bytes) -> bytes:
    done = subprocess.run([age_program(), *args], input=stdin, capture_output=True, check=True)
    return done.stdout
