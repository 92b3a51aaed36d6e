"""The age key of an app's SOPS files read from a Secret on a Kubernetes target, as Flux's
`spec.decryption.secretRef` (issue 17): the `*.agekey` keys of the Secret, base64 in
`data` as the API server returns it. Against the kmock emulator (a GET of a stored object);
not checked against a real API server."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pyrage import x25519

from conveyor.clients.sops import agekeys
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.reconcile.appmodel import Decryption
from conveyor.reconcile.decrypt import secret_identities
from conveyor.targets.kubernetes.target import KubernetesTarget
from tests.targets.kubernetes.emulator import ApiServerEmulator
from tests.targets.kubernetes.harness import run

SPEC = Decryption(secret_name="sops-age", secret_namespace="flux-system")


def test_the_agekey_entries_of_the_secret_are_the_identities(tmp_path: Path) -> None:
    identity = x25519.Identity.generate()

    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        # as `kubectl create secret generic sops-age --from-file=age.agekey=…` leaves it
        emu.objects["v1/secrets", "flux-system", "sops-age"] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sops-age", "namespace": "flux-system"},
            "type": "Opaque",
            "data": {
                "age.agekey": base64.b64encode(f"# key\n{identity}\n".encode()).decode(),
                "README": base64.b64encode(b"not a key").decode(),
            },
        }
        (found,) = await secret_identities(target, SPEC)
        assert agekeys.public_key(found) == agekeys.public_key(identity)

    run(tmp_path, scenario)


def test_a_missing_secret_is_named(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        with pytest.raises(SopsError) as caught:
            await secret_identities(target, SPEC)
        assert caught.value.reason == SopsReason.NO_KEY
        assert "Secret flux-system/sops-age" in str(caught.value)

    run(tmp_path, scenario)
