"""`kubectl kustomize` (kustomize v5, preinstalled) is the oracle: after our `images:` edit
the rendered Deployment runs exactly the reference `kustomize edit set image` would give."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conveyor.promote import kustomize
from conveyor.promote.imageref import parse_image

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")

DIGEST = "sha256:" + "ab" * 32
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ghcr.io/acme/web:1.0.0
"""

OVERLAYS = {
    "none": "resources:\n- ../base\n",
    "tag": "resources:\n- ../base\nimages:\n- name: ghcr.io/acme/web\n  newTag: 1.1.0\n",
    "digest": f"resources:\n- ../base\nimages:\n- name: ghcr.io/acme/web\n  digest: {DIGEST}\n",
    "flow": "resources: [../base]\nimages: [{name: ghcr.io/acme/web, newTag: '0.9'}]\n",
}


def render(folder: Path) -> str:
    out = subprocess.run(
        ["kubectl", "kustomize", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    doc = yaml.safe_load(out)
    return str(doc["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize(
    ("tag", "digest", "expected"),
    [
        ("2.0.0", None, "ghcr.io/acme/web:2.0.0"),
        (None, DIGEST, f"ghcr.io/acme/web@{DIGEST}"),
        ("2.0.0", DIGEST, f"ghcr.io/acme/web:2.0.0@{DIGEST}"),
    ],
)
def test_render_matches_set_image(
    tmp_path: Path, overlay: str, tag: str | None, digest: str | None, expected: str
) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "deployment.yaml").write_text(DEPLOYMENT)
    (tmp_path / "base" / "kustomization.yaml").write_text("resources:\n- deployment.yaml\n")
    (tmp_path / "overlay").mkdir()
    kfile = tmp_path / "overlay" / "kustomization.yaml"
    result = kustomize.set_image(
        OVERLAYS[overlay],
        "kustomization.yaml",
        parse_image("ghcr.io/acme/web"),
        tag=tag,
        digest=digest,
    )
    kfile.write_text(result.text)
    assert render(tmp_path / "overlay") == expected
