"""Kubernetes resource quantities as Podman flags (pure): `500m` CPUs, `64Mi` bytes.

Called by `conveyor.targets.podman.spec` when it maps `resources.limits`.
"""

from __future__ import annotations

import re

_SUFFIX = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "m": 0.001,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


def parse(value: object) -> float:
    """The number a quantity stands for; ValueError when it is not one."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2) or ""]


def cpus(value: object) -> str:
    """`--cpus` for a CPU limit: `500m` -> `0.5`."""
    return f"{parse(value):g}"


def memory_bytes(value: object) -> str:
    """`--memory` for a memory limit, in bytes: `64Mi` -> `67108864`."""
    return str(int(parse(value)))
