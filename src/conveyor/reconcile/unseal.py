"""SealedSecrets in rendered manifests: unsealed by Conveyor, or left to the controller.

On a target Conveyor unseals for (Podman, memory: every non-Kubernetes target, each with
its own key directory, `reconcile.sealkeys`) each `bitnami.com/v1alpha1` SealedSecret is
replaced by the Secret it stands for (`core.unsealing.unseal`), so the target never
sees a SealedSecret and the diff, prune and inventory work on the Secret. The Secret takes
the owner label and, when its template has none of its own, the SealedSecret's Argo CD
annotations (sync wave, hook, sync options), so it lands where the SealedSecret would have.
A Kubernetes target runs the sealed-secrets controller: there SealedSecrets are applied as
they are, and the controller unseals them.

One SealedSecret that cannot be unsealed fails the whole render (`RenderError`, naming the
object, the key and why), so no Secret that could not be unsealed is ever applied and
nothing is pruned. Values never reach a message or a log.

`Unsealer.unseal` is called by `reconcile.steps.render` on the stamped manifests; the
key directories and the controller targets are wired by `app.cmd_reconcile` from
`conveyor.yaml` (`key_directories`, `controller_targets`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.core import sealedsecret, unsealing
from conveyor.core.sealedsecret import SealedSecretInvalid
from conveyor.reconcile.config import Config
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.sealkeys import SealingKeys
from conveyor.targets.base import OWNER_LABEL, Manifest, Target

log = logging.getLogger(__name__)

ARGO_PREFIX = "argocd.argoproj.io/"
KEYS_OPTION = "sealingKeys"  # a target's option in conveyor.yaml: its key directory


def key_directories(config: Config, state_root: Path) -> dict[str, Path]:
    """Target name → key directory, for every target Conveyor unseals for: the target's
    `sealingKeys` option (relative to the config file), else
    `<state root>/sealed-secrets/<target name>`."""
    base = Path(config.file).parent if config.file else Path.cwd()
    out = {}
    for target in config.targets:
        if target.type == "kubernetes":
            continue
        given = target.options.get(KEYS_OPTION)
        out[target.name] = (
            base / str(given) if given else state_root / "sealed-secrets" / target.name
        )
    return out


def controller_targets(config: Config) -> frozenset[str]:
    """Targets whose own sealed-secrets controller unseals (Kubernetes)."""
    return frozenset(t.name for t in config.targets if t.type == "kubernetes")


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsealer:
    """Which targets Conveyor unseals for (with their keys) and which it leaves alone."""

    keys: Mapping[str, SealingKeys] = field(default_factory=dict)
    controlled: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_config(cls, config: Config, state_root: Path) -> Unsealer:
        dirs = key_directories(config, state_root)
        keys = {name: SealingKeys(path) for name, path in dirs.items()}
        return cls(keys=MappingProxyType(keys), controlled=controller_targets(config))

    def unseal(
        self, manifests: Sequence[Manifest], *, target: Target | None
    ) -> tuple[Manifest, ...]:
        """`manifests` with every SealedSecret unsealed for `target`, or as they are when
        there is none, no such target (observe reports it), or the target's controller
        unseals. Raises `RenderError` naming the SealedSecret that failed."""
        sealed = [obj for obj in manifests if sealedsecret.is_sealed(obj)]
        if not sealed or target is None or target.name in self.controlled:
            return tuple(manifests)
        keys = self.keys.get(target.name)
        if keys is None:
            raise RenderError(
                f"target {target.name!r} has no sealing keys configured, so the "
                f"{len(sealed)} SealedSecret(s) cannot be unsealed",
                hint=f"give the target a {KEYS_OPTION} directory in conveyor.yaml",
            )
        private = keys.private_keys()
        out = tuple(
            _unsealed(obj, private) if sealedsecret.is_sealed(obj) else obj for obj in manifests
        )
        log.info("unsealed %d SealedSecret(s) for target %s", len(sealed), target.name)
        return out


def _unsealed(obj: Manifest, private: list[rsa.RSAPrivateKey]) -> Manifest:
    try:
        secret = unsealing.unseal(obj, private)
    except SealedSecretInvalid as exc:
        raise RenderError(exc.message, hint=exc.hint) from exc
    meta = secret["metadata"]
    outer = obj.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    if OWNER_LABEL in (outer.get("labels") or {}):
        labels[OWNER_LABEL] = outer["labels"][OWNER_LABEL]
    if labels:
        meta["labels"] = labels
    notes = dict(meta.get("annotations") or {})
    for key, value in (outer.get("annotations") or {}).items():
        if key.startswith(ARGO_PREFIX):
            notes.setdefault(key, value)
    if notes:
        meta["annotations"] = notes
    return secret
