"""Small Helm charts written for the Helm rendering tests (our own texts), and helpers
to package them into a Helm repository or push them to an OCI registry."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from textwrap import dedent

import helm_python

CHART = """\
apiVersion: v2
name: {name}
version: {version}
appVersion: "1.0"
"""

VALUES = """\
replicas: 1
image:
  repository: web
  tag: "1.0"
greeting: hello
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  labels:
    chart: {{ .Chart.Name }}-{{ .Chart.Version }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: main
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  namespace: {{ .Release.Namespace }}
data:
  greeting: {{ .Values.greeting | quote }}
"""

HELPERS = """\
{{- define "web.fullname" -}}
{{ .Release.Name }}-{{ .Chart.Name }}
{{- end -}}
"""

NOTES = "Thanks for installing {{ .Release.Name }}.\n"


def write_chart(
    directory: Path,
    *,
    name: str = "web",
    version: str = "0.1.0",
    values: str = VALUES,
    templates: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """A chart at `directory` (Chart.yaml, values.yaml, templates/, NOTES.txt, a partial)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Chart.yaml").write_text(CHART.format(name=name, version=version))
    (directory / "values.yaml").write_text(values)
    chosen = {"deployment.yaml": DEPLOYMENT, "configmap.yaml": CONFIGMAP}
    chosen |= {"NOTES.txt": NOTES, "_helpers.tpl": HELPERS}
    for file, text in (templates if templates is not None else chosen).items():
        (directory / "templates").mkdir(exist_ok=True)
        (directory / "templates" / file).write_text(dedent(text))
    for file, text in (files or {}).items():
        (directory / file).parent.mkdir(parents=True, exist_ok=True)
        (directory / file).write_text(dedent(text))
    return directory


def package(chart: Path, into: Path) -> Path:
    """`helm package`; returns the archive."""
    into.mkdir(parents=True, exist_ok=True)
    return Path(helm_python.package(chart, destination=into))


def publish_http(charts: list[Path], into: Path, base_url: str) -> None:
    """Package charts into `into` and write its index.yaml (`helm repo index`)."""
    for chart in charts:
        package(chart, into)
    helm_python.repo_index_generate(into, base_url=base_url)


def push_oci(chart: Path, registry: str, scratch: Path) -> None:
    """Package and push to `oci://<registry>/charts` (plain HTTP: a loopback registry)."""
    archive = package(chart, scratch)
    helm_python.push(archive, f"oci://{registry}/charts", plain_http=True)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log on the test's stderr."""


@contextmanager
def serving(directory: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving `directory`; yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
