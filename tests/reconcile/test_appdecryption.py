"""`spec.decryption` of a Conveyor Application (issue 17): read onto the model, or refused
where it stands with file:line:col."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.reconcile.applications import parse_applications, read_file
from conveyor.reconcile.appmodel import Decryption

from .conftest import ConfigRepo, application


def doc(repo: ConfigRepo, decryption: Any) -> str:
    return application("web", repo, "app", extra={"decryption": decryption})


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"provider": "sops", "keyFile": "/k"}, Decryption(key_file="/k")),
        (
            {"provider": "sops", "secretRef": {"name": "age"}},
            Decryption(secret_name="age", secret_namespace="prod"),
        ),
        (
            {"provider": "sops", "keyFile": "/k", "secretRef": {"name": "a", "namespace": "x"}},
            Decryption(key_file="/k", secret_name="a", secret_namespace="x"),
        ),
    ],
)
def test_decryption_is_read(repo: ConfigRepo, block: dict[str, Any], expected: Decryption) -> None:
    (app,) = parse_applications(doc(repo, block), "apps/web.yaml")
    assert app.decryption == expected


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"provider": "vault", "keyFile": "/k"}, "decryption provider 'vault' is not supported"),
        ({"provider": "sops"}, "spec.decryption names no key"),
        ({"provider": "sops", "keyfile": "/k"}, "unknown field spec.decryption.keyfile"),
        ({"provider": "sops", "secretRef": {"nam": "x"}}, "spec.decryption.secretRef.nam"),
    ],
)
def test_bad_decryption_is_refused_where_it_stands(
    repo: ConfigRepo, block: dict[str, Any], message: str
) -> None:
    found = read_file(doc(repo, block), "apps/web.yaml")
    assert found.invalid
    text = found.invalid[0].message
    assert message in text and text.startswith("apps/web.yaml:")
