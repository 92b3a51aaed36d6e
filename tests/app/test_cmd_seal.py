"""`conveyor seal` as users run it (a real `python -m conveyor.app` process): key generation
and rotation, the published certificate, sealing from a file or stdin, and refusals."""

from __future__ import annotations

import base64
import datetime as dt
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conveyor.core import sealedsecret, unsealing
from conveyor.reconcile.config import default_config
from conveyor.reconcile.sealkeys import SealingKeys
from conveyor.reconcile.unseal import Unsealer

VALUE = "cli-sealed-value-0b7e"
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "prod"},
    "stringData": {"password": VALUE},
}
CONFIG = """\
targets:
  - {name: local, type: podman, sealingKeys: keys/local}
  - {name: cluster, type: kubernetes}
"""


def conveyor(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor.app", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        check=False,
        timeout=120,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "conveyor.yaml").write_text(CONFIG)
    (tmp_path / "secret.yaml").write_text(yaml.safe_dump(SECRET))
    return tmp_path


def plain(doc: dict[str, object], keys: SealingKeys) -> str:
    secret = unsealing.unseal(doc, keys.private_keys())
    return base64.b64decode(secret["data"]["password"]).decode()


def test_keygen_rotate_and_seal_for_a_podman_target(site: Path) -> None:
    first = conveyor("seal", "keygen", "--config", "conveyor.yaml", "--target", "local", cwd=site)
    assert first.returncode == 0, first.stderr
    keys = SealingKeys(site / "keys" / "local")
    [pair] = keys.pairs()
    assert stat.S_IMODE(pair.key_file.stat().st_mode) == 0o600
    sealed = conveyor(
        "seal", "secret.yaml", "--config", "conveyor.yaml", "--target", "local", cwd=site
    )
    assert sealed.returncode == 0, sealed.stderr
    before = json.loads(sealed.stdout)
    second = conveyor("seal", "keygen", "--config", "conveyor.yaml", "--target", "local", cwd=site)
    assert "the 1 older key(s) stay for unsealing" in second.stdout
    listed = conveyor("seal", "keys", "--config", "conveyor.yaml", "--target", "local", cwd=site)
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [p.name for p in keys.pairs()]
    assert "active" in lines[0] and "kept (unseals)" in lines[1]
    assert plain(before, keys) == VALUE  # sealed with the old key, still unsealed
    cert = conveyor("seal", "cert", "--config", "conveyor.yaml", "--target", "local", cwd=site)
    assert cert.stdout.encode() == keys.active().certificate_pem()


def test_the_only_unsealing_target_and_its_default_directory_are_what_the_reconciler_uses(
    tmp_path: Path,
) -> None:
    made = conveyor("seal", "keygen", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    sealed = conveyor("seal", cwd=tmp_path, stdin=json.dumps(SECRET))
    assert sealed.returncode == 0, sealed.stderr
    default = default_config(tmp_path)  # `conveyor reconcile` without --config, in tmp_path
    state_root = Path(default.cache).parent
    keys = Unsealer.from_config(default, state_root).keys["local"]
    assert keys.directory == tmp_path / ".conveyor" / "sealed-secrets" / "local"
    assert plain(json.loads(sealed.stdout), keys) == VALUE


def test_seal_from_stdin_with_a_cert_scope_and_overrides(site: Path) -> None:
    keys = SealingKeys(site / "k")
    keys.generate(bits=2048)
    result = conveyor(
        "seal",
        "--cert",
        str(keys.active().cert_file),
        "--scope",
        "namespace-wide",
        "--namespace",
        "staging",
        "--format",
        "yaml",
        cwd=site,
        stdin=yaml.safe_dump(SECRET),
    )
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["metadata"] == {
        "name": "db",
        "namespace": "staging",
        "annotations": {sealedsecret.NAMESPACE_WIDE: "true"},
    }
    doc["metadata"]["name"] = "renamed"  # namespace-wide: the name may change
    assert plain(doc, keys) == VALUE
    assert VALUE not in result.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--target", "cluster"], SECRET, "kubeseal --fetch-cert"),
        (["--target", "nowhere"], SECRET, "no target named 'nowhere'"),
        (["--target", "local"], [SECRET, SECRET], "holds 2 documents; one is needed"),
        (["--target", "local", "--cert", "c.pem"], SECRET, "--cert and --target/--keys"),
        (["--target", "local"], {**SECRET, "metadata": {"name": "db"}}, "no metadata.namespace"),
        (["--target", "local", "--scope", "everywhere"], SECRET, "Invalid value for '--scope'"),
    ],
)
def test_seal_refuses_with_a_message_and_no_cleartext(
    site: Path, args: list[str], stdin: object, message: str
) -> None:
    conveyor("seal", "keygen", "--config", "conveyor.yaml", "--target", "local", cwd=site)
    docs = stdin if isinstance(stdin, list) else [stdin]
    result = conveyor(
        "seal", "--config", "conveyor.yaml", *args, cwd=site, stdin=yaml.safe_dump_all(docs)
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert VALUE not in result.stderr + result.stdout


def test_an_expired_certificate_is_refused(site: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(past)
        .not_valid_after(past + dt.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    (site / "old.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    result = conveyor("seal", "secret.yaml", "--cert", "old.pem", cwd=site)
    assert result.returncode == 2
    assert "old.pem: the certificate expired on 2020-01-02" in result.stderr


def test_re_encrypt_lets_the_old_key_be_retired(site: Path) -> None:
    where = ("--config", "conveyor.yaml", "--target", "local")
    conveyor("seal", "keygen", *where, cwd=site)
    keys = SealingKeys(site / "keys" / "local")
    old = keys.active()
    sealed = conveyor("seal", "secret.yaml", *where, "--format", "yaml", cwd=site)
    conveyor("seal", "keygen", *where, cwd=site)
    again = conveyor("seal", "re-encrypt", *where, cwd=site, stdin=sealed.stdout)
    assert again.returncode == 0, again.stderr
    assert VALUE not in again.stdout + again.stderr
    old.key_file.unlink()  # retired
    old.cert_file.unlink()
    assert plain(json.loads(again.stdout), keys) == VALUE
    refused = conveyor("seal", "re-encrypt", *where, cwd=site, stdin=yaml.safe_dump(SECRET))
    assert refused.returncode == 2
    assert "is not a bitnami.com/v1alpha1 SealedSecret" in refused.stderr
