"""A second, independent implementation of the Sealed Secrets format for the tests: the
npm package `@socialgouv/aes-gcm-rsa-oaep` (what SocialGouv's webseal uses to seal in the
browser; WebCrypto), run by node, plus a decryption written here with node's own
`crypto` module (OpenSSL through node, no code of ours or of the package).

The package is installed by the Makefile under `.venv/node` (`make install`). Without node
or the package the tests that need them skip, saying so, except under `CI=true`, where
they fail: CI must run them.

`run(requests)` sends JSON lines to one node process and returns its answers, in order:
`{"op": "seal", "cert", "scope": strict|namespace|cluster, "namespace", "name", "values"}`
→ the package's `getSealedSecret`; `{"op": "open-lib" | "open-node", "key": PKCS#8 PEM,
"label", "blob": base64}` → `{"text": …}` (the package's `HybridDecrypt`) or
`{"base64": …}` (node's crypto).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PACKAGE = (
    Path(__file__).parents[2]
    / ".venv"
    / "node"
    / "node_modules"
    / "@socialgouv"
    / "aes-gcm-rsa-oaep"
)
NODE = shutil.which("node")

DRIVER = r"""
const lib = require(process.argv[1]);
const nodeCrypto = require("node:crypto");
const subtle = nodeCrypto.webcrypto.subtle;

function pemBody(pem) {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

async function openWithPackage(req) {
  const key = await subtle.importKey(
    "pkcs8", pemBody(req.key), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["decrypt"]);
  const blob = Buffer.from(req.blob, "base64");
  const buf = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length);
  return { text: await lib.HybridDecrypt(key, buf, Buffer.from(req.label)) };
}

function openWithNodeCrypto(req) {
  const blob = Buffer.from(req.blob, "base64");
  const size = blob.readUInt16BE(0);
  const sessionKey = nodeCrypto.privateDecrypt({
    key: req.key,
    padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING,
    oaepHash: "sha256",
    oaepLabel: Buffer.from(req.label),
  }, blob.subarray(2, 2 + size));
  const rest = blob.subarray(2 + size);
  const decipher = nodeCrypto.createDecipheriv("aes-256-gcm", sessionKey, Buffer.alloc(12));
  decipher.setAuthTag(rest.subarray(rest.length - 16));
  const body = decipher.update(rest.subarray(0, rest.length - 16));
  const plain = Buffer.concat([body, decipher.final()]);
  return { base64: plain.toString("base64") };
}

async function answer(req) {
  if (req.op === "seal") {
    return lib.getSealedSecret({
      pemKey: req.cert, scope: req.scope, namespace: req.namespace, name: req.name,
      values: req.values,
    });
  }
  if (req.op === "open-lib") return openWithPackage(req);
  if (req.op === "open-node") return openWithNodeCrypto(req);
  throw new Error("unknown op " + req.op);
}

(async () => {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  for (const line of input.split("\n")) {
    if (!line.trim()) continue;
    let out;
    try {
      out = await answer(JSON.parse(line));
    } catch (e) {
      out = { err: String((e && e.message) || e) };
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  }
})();
"""


def require_node() -> str:
    """node's path, once the package is there; else skip (or fail under CI=true)."""
    if NODE is not None and (PACKAGE / "dist" / "index.js").is_file():
        return NODE
    reason = (
        f"node or npm @socialgouv/aes-gcm-rsa-oaep is unavailable (looked for {PACKAGE}): "
        "`make install` installs it"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def run(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = require_node()
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    done = subprocess.run(
        [node, "-e", DRIVER, str(PACKAGE)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]
