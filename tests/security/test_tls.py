"""Finding 17: `conveyor server --tls-cert/--tls-key` serves https, and runners and the CLI
trust it through a CA file.

The attack it closes: a token sent to the server crosses the network in clear. With TLS,
the port speaks only TLS (a clear-text request gets no answer), a client without the CA
refuses the server's certificate, and a remote `conveyor runner --ca-file` takes a job,
clones over https and reports back. The certificate is self-signed, made in the test.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.server.conftest import Server, free_port, push_workflows

AMBIENT = "/etc/ssl/certs/ca-certificates.crt"
WORKFLOW = """on: push
jobs:
  build:
    runs-on: [self-hosted, tls]
    steps:
      - uses: actions/checkout@v4
      - run: test -f .github/workflows/b.yml && echo "built over https"
      - run: |
          # the runner's CA is for the server's URL only: other hosts keep their CAs
          test "$(git config --get-urlmatch http.sslcainfo https://github.com/)" = "$AMBIENT" \
            && echo "other hosts keep their CAs"
"""


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conveyor test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.crt", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


@dataclass
class TlsServer(Server):
    ca: Path = Path()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def start(self) -> None:
        env = {**os.environ, "CONVEYOR_WEBHOOK_SECRET": "hook-secret"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conveyor.server.main",
                    "--data",
                    str(self.data),
                    "--port",
                    str(self.port),
                    *self.extra,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        for _ in range(200):
            try:
                if httpx.get(f"{self.url}/healthz", verify=self.trust()).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(self.log.read_text())

    def api(self, method: str, path: str, *, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.admin}"}
        return httpx.request(
            method, f"{self.url}{path}", headers=headers, timeout=30, verify=self.trust(), **kw
        )


def _tls_server(tmp_path: Path, *pool: str) -> TlsServer:
    cert, key = self_signed(tmp_path)
    extra = (*pool, "--tls-cert", str(cert), "--tls-key", str(key))
    srv = TlsServer(data=tmp_path / "server", port=free_port(), extra=extra, ca=cert)
    srv.data.mkdir(parents=True)
    srv.start()
    return srv


@pytest.fixture
def tls_server(tmp_path: Path) -> Any:
    srv = _tls_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    yield srv
    srv.stop()


def test_the_server_speaks_only_tls_and_clients_check_its_certificate(
    tls_server: TlsServer,
) -> None:
    with pytest.raises(httpx.TransportError):  # a token sent in clear gets no answer
        httpx.get(
            f"http://127.0.0.1:{tls_server.port}/api/v1/runs",
            headers={"Authorization": f"Bearer {tls_server.admin}"},
            timeout=5,
        )
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{tls_server.url}/healthz", timeout=5)  # the system CAs do not know it
    assert tls_server.api("GET", "/api/v1/runs").status_code == 200


def test_a_remote_runner_with_the_ca_file_runs_a_job_over_https(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    token = tls_server.register_runner("tls-1", "self-hosted,tls")
    env = {
        **os.environ,
        "CONVEYOR_WARM": "0",
        "CONVEYOR_TOKEN": token,
        "CONVEYOR_CA_FILE": str(tls_server.ca),
        "GIT_SSL_CAINFO": AMBIENT,  # a CA bundle set for all of git (this machine sets one)
        "AMBIENT": AMBIENT,
    }
    with (tmp_path / "agent.log").open("ab") as log:
        agent = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conveyor.app",
                "runner",
                "--server",
                tls_server.url,
                "--labels",
                "self-hosted,tls",
                "--name",
                "tls-1",
                "--work",
                str(tmp_path / "w"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        push_ca = {"GIT_SSL_CAINFO": str(tls_server.ca)}
        os.environ.update(push_ca)  # the test's own `git push` trusts the CA too
        try:
            push_workflows(tls_server, tmp_path, "acme/app", {".github/workflows/b.yml": WORKFLOW})
        finally:
            os.environ.pop("GIT_SSL_CAINFO")
        run = tls_server.wait_run(int(tls_server.runs("acme/app")[0]["id"]))
        assert (run["conclusion"], run["runner"]) == ("success", "tls-1"), (
            tls_server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
            + (tmp_path / "agent.log").read_text()[-3000:]
        )
        logs = tls_server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
        assert "built over https" in logs
        assert "other hosts keep their CAs" in logs
    finally:
        os.killpg(agent.pid, signal.SIGKILL)
        agent.wait()


CHECKOUT = """on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: cat README
"""


def test_local_runners_of_a_tls_server_check_out_the_code(tmp_path: Path) -> None:
    srv = _tls_server(tmp_path)
    try:
        os.environ["GIT_SSL_CAINFO"] = str(srv.ca)  # the test's own `git push`
        try:
            files = {".github/workflows/b.yml": CHECKOUT, "README": "checked out over tls"}
            push_workflows(srv, tmp_path, "acme/app", files)
        finally:
            os.environ.pop("GIT_SSL_CAINFO")
        run = srv.wait_run(int(srv.runs("acme/app")[0]["id"]))
        logs = srv.api("GET", f"/api/v1/runs/{run['id']}/logs").text
        assert run["conclusion"] == "success", logs
        assert "checked out over tls" in logs
    finally:
        srv.stop()
