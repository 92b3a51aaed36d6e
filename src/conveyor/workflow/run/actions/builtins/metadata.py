"""Built-in `docker/metadata-action`: image tags and OCI labels from the Git context.

Inputs: `images` (list), `tags` (rules `type=ref,event=branch|tag|pr`, `type=semver,
pattern=…`, `type=sha[,prefix=…,format=short|long]`, `type=raw,value=…`,
`type=schedule`; `enable=`, `prefix=`, `suffix=` attributes), `flavor` (`latest=auto|true|
false`, `prefix=`, `suffix=`), `labels` (extra). Without `tags` the documented defaults
apply (schedule, branch, tag, pr). Outputs: `version`, `tags`, `labels`, `json`,
`annotations`, plus the `DOCKER_METADATA_OUTPUT_*` variables.
"""

from __future__ import annotations

import json
import re
import time

from conveyor.workflow.run.actions.builtins import BuiltinCall

_DEFAULT_TAGS = [
    "type=schedule",
    "type=ref,event=branch",
    "type=ref,event=tag",
    "type=ref,event=pr",
]
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _attrs(rule: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in rule.split(","):
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip()
    return out


def sanitize(tag: str) -> str:
    """A Docker tag from a ref name (`/` and other invalid characters become `-`)."""
    return re.sub(r"[^a-zA-Z0-9._-]", "-", tag)[:128]


def _semver(pattern: str, tag: str) -> str | None:
    match = _SEMVER.match(tag)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    if pre and pattern != "{{version}}":
        return None
    version = f"{major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
    values = {"version": version, "major": major, "minor": minor, "patch": patch, "raw": tag}
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), ""), pattern)


def tags_for(rules: list[str], *, ref: str, sha: str, event: str, pr: str) -> list[str]:
    """Tag values (without image names) for `rules`, in order, without duplicates."""
    out: list[str] = []
    for rule in rules:
        a = _attrs(rule)
        if a.get("enable", "true").lower() == "false":
            continue
        kind = a.get("type", "raw")
        value: str | None = None
        if kind == "ref":
            wanted = a.get("event", "branch")
            if wanted == "branch" and ref.startswith("refs/heads/"):
                value = sanitize(ref.removeprefix("refs/heads/"))
            elif wanted == "tag" and ref.startswith("refs/tags/"):
                value = sanitize(ref.removeprefix("refs/tags/"))
            elif wanted == "pr" and pr:
                value = f"pr-{pr}"
        elif kind == "semver" and ref.startswith("refs/tags/"):
            value = _semver(a.get("pattern", "{{version}}"), ref.removeprefix("refs/tags/"))
        elif kind == "sha":
            value = a.get("prefix", "sha-") + (sha if a.get("format") == "long" else sha[:7])
            a["prefix"] = ""
        elif kind == "raw":
            value = a.get("value") or None
        elif kind == "schedule" and event == "schedule":
            value = time.strftime(
                a.get("pattern", "nightly").replace("{{date 'YYYYMMDD'}}", "%Y%m%d")
            )
        if value:
            full = a.get("prefix", "") + value + a.get("suffix", "")
            if full not in out:
                out.append(full)
    return out


async def run(call: BuiltinCall) -> dict[str, str]:
    github = call.jr.state.contexts.get("github")
    gh = github if isinstance(github, dict) else {}
    ref, sha = str(gh.get("ref", "")), str(gh.get("sha", ""))
    event = str(gh.get("event_name", ""))
    payload = gh.get("event")
    pr = ""
    if isinstance(payload, dict) and isinstance(payload.get("number"), int):
        pr = str(payload["number"])
    rules = [line.strip() for line in call.inputs.get("tags", "").splitlines() if line.strip()]
    flavor = _attrs(",".join(call.lines("flavor"))) if call.get("flavor") else {}
    values = tags_for(rules or _DEFAULT_TAGS, ref=ref, sha=sha, event=event, pr=pr)
    values = [flavor.get("prefix", "") + v + flavor.get("suffix", "") for v in values]
    latest = flavor.get("latest", "auto")
    # auto: `latest` goes with a Git tag build (type=ref,event=tag / type=semver), as documented
    wants_latest = latest == "true" or (latest == "auto" and ref.startswith("refs/tags/"))
    if wants_latest and values and "latest" not in values:
        values.append("latest")
    images = call.lines("images")
    tags = [f"{image}:{value}" for image in images for value in values] if images else values
    repo = str(gh.get("repository", ""))
    server = str(gh.get("server_url", "https://github.com"))
    labels = {
        "org.opencontainers.image.title": repo.rsplit("/", 1)[-1],
        "org.opencontainers.image.description": "",
        "org.opencontainers.image.url": f"{server}/{repo}",
        "org.opencontainers.image.source": f"{server}/{repo}",
        "org.opencontainers.image.version": values[0] if values else "",
        "org.opencontainers.image.created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "org.opencontainers.image.revision": sha,
        "org.opencontainers.image.licenses": "",
    }
    for line in call.inputs.get("labels", "").splitlines():
        key, found, value = line.strip().partition("=")
        if found:
            labels[key] = value
    label_lines = [f"{k}={v}" for k, v in labels.items()]
    version = values[0] if values else ""
    outputs = {
        "version": version,
        "tags": "\n".join(tags),
        "labels": "\n".join(label_lines),
        "annotations": "\n".join(f"manifest:{line}" for line in label_lines),
        "json": json.dumps({"tags": tags, "labels": labels}),
        "bake-file": "",
    }
    for tag in tags:
        call.jr.write(tag)
    return outputs
