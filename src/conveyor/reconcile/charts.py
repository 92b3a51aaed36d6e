"""Fetch Helm charts: from a Helm repository or an OCI registry into a cache, and a Git
chart's missing dependencies built beside its export.

A chart source (`spec.source.chart`) names its repository in `repoURL`: `https://…` or
`http://…` is a Helm repository (an `index.yaml`); `oci://host/path` a registry, the chart
being `host/path/<chart>`; a URL without a scheme (`registry.example.com/charts`) is a
registry too, as in Argo CD. Registries on the loopback interface are spoken to in plain
HTTP. `targetRevision` is the chart version: exact (`1.2.3`), or a semver range Helm
resolves (`1.2.*`, `>=1.0 <2`, `^1.2`, `~1.2`); empty, `HEAD` or `*` means the latest
stable version. `resolve` turns the range into the concrete version (remembered for `ttl`
seconds, then asked again), which becomes the source's revision; `checkout` pulls that
version once into `<cache>/<hash of repo, chart, version>` and unpacks it.

A chart in Git whose `charts/` lacks a declared dependency gets `helm dependency build`
run on a copy of its export (kept under the cache), so `file://` dependencies and Helm
repositories both work. Download failures are `SourceError`s: the last good revision
keeps running and the next pass retries. Pulls and builds are bounded by `timeout`
(the Go call itself cannot be interrupted: its thread ends when Helm gives up). Called by
`reconcile.steps`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from conveyor.clients import helm
from conveyor.reconcile.appmodel import HelmSpec, Source
from conveyor.reconcile.errors import SourceError
from conveyor.reconcile.sources import Checkout

_EXACT = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_LATEST = ("", "HEAD", "*")


def repository(src: Source) -> str:
    """The chart's repository as Helm takes it: `oci://…` for registries."""
    url = src.repo_url.rstrip("/")
    if url.startswith(("http://", "https://", "oci://")):
        return url
    return f"oci://{url}"


def is_exact(version: str) -> bool:
    return bool(_EXACT.match(version.strip()))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


class Charts:
    """Pulled charts and built dependencies under one cache directory."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        ttl: float = 60.0,
        timeout: float = 90.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache_dir = cache_dir
        self.ttl = ttl
        self.timeout = timeout
        self.clock = clock
        self._resolved: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def resolve(self, src: Source) -> str:
        """The concrete version `src.target_revision` names (no download for an exact one)."""
        wanted = src.target_revision.strip()
        if is_exact(wanted):
            return wanted
        key = (repository(src), src.chart, wanted)
        known = self._resolved.get(key)
        if known is not None and self.clock() - known[1] < self.ttl:
            return known[0]
        version = await self._pull_range(src, "" if wanted in _LATEST else wanted)
        self._resolved[key] = (version, self.clock())
        return version

    async def checkout(self, src: Source, version: str) -> Checkout:
        """The unpacked chart at `version`, pulled on first use."""
        slot = self._slot(src, version)
        async with self._locks.setdefault(str(slot), asyncio.Lock()):
            if not (slot / "chart").is_dir():
                with tempfile.TemporaryDirectory(dir=self._tmp()) as tmp:
                    archive = await self._pull(src, version, Path(tmp))
                    await self._store(archive, slot)
        root = next(p for p in (slot / "chart").iterdir() if p.is_dir())
        key = f"chart-{(slot / 'digest').read_text().strip()}"
        return Checkout(revision=version, root=root, path=".", key=key)

    async def with_dependencies(self, checkout: Checkout) -> Checkout:
        """`checkout` itself when its chart holds every dependency in `charts/`; otherwise
        a copy of it with `helm dependency build` run (built once per content key)."""
        directory = checkout.directory
        try:
            missing = await asyncio.to_thread(helm.missing_dependencies, directory)
        except helm.HelmError as exc:
            raise SourceError(f"{checkout.path}/Chart.yaml: {exc}") from exc
        if not missing:
            return checkout
        built = self.cache_dir / "deps" / _digest(checkout.key, checkout.path) / "root"
        async with self._locks.setdefault(str(built), asyncio.Lock()):
            if not built.is_dir():
                await self._build(checkout, built, missing)
        return Checkout(
            revision=checkout.revision, root=built, path=checkout.path, key=f"{checkout.key}+deps"
        )

    async def _build(self, checkout: Checkout, built: Path, missing: list[str]) -> None:
        work = Path(tempfile.mkdtemp(dir=self._tmp())) / "root"
        shutil.copytree(checkout.root, work, symlinks=True)
        chart = work / checkout.path if checkout.path.strip("/") not in ("", ".") else work
        try:
            await asyncio.wait_for(asyncio.to_thread(helm.dependency_build, chart), self.timeout)
        except (helm.HelmError, TimeoutError) as exc:
            shutil.rmtree(work.parent, ignore_errors=True)
            why = exc if str(exc) else f"no answer within {self.timeout:g} s"
            raise SourceError(
                f"cannot build the dependencies ({', '.join(missing)}) of "
                f"{checkout.path}/Chart.yaml: {why}"
            ) from exc
        built.parent.mkdir(parents=True, exist_ok=True)
        work.rename(built)
        shutil.rmtree(work.parent, ignore_errors=True)

    def _slot(self, src: Source, version: str) -> Path:
        return self.cache_dir / "pulled" / _digest(repository(src), src.chart, version)

    def _tmp(self) -> Path:
        tmp = self.cache_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    async def _pull_range(self, src: Source, wanted: str) -> str:
        """Pull the newest version matching `wanted`; keep it, return its version."""
        with tempfile.TemporaryDirectory(dir=self._tmp()) as tmp:
            archive = await self._pull(src, wanted, Path(tmp))
            version = archive.name.removeprefix(f"{src.chart}-").removesuffix(".tgz")
            slot = self._slot(src, version)
            async with self._locks.setdefault(str(slot), asyncio.Lock()):
                if not (slot / "chart").is_dir():
                    await self._store(archive, slot)
        return version

    async def _pull(self, src: Source, version: str, into: Path) -> Path:
        repo = repository(src)
        pulling = asyncio.to_thread(
            helm.pull, src.chart, repo_url=repo, version=version, destination=into
        )
        try:
            return await asyncio.wait_for(pulling, self.timeout)
        except (helm.HelmError, TimeoutError) as exc:
            shown = version or "latest"
            why = exc if str(exc) else f"no answer within {self.timeout:g} s"
            raise SourceError(f"cannot pull chart {src.chart} {shown} from {repo}: {why}") from exc

    async def _store(self, archive: Path, slot: Path) -> None:
        staging = Path(tempfile.mkdtemp(dir=self._tmp()))
        try:
            await asyncio.to_thread(helm.expand, archive, staging / "chart")
        except helm.HelmError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise SourceError(f"cannot unpack {archive.name}: {exc}") from exc
        (staging / "digest").write_text(hashlib.sha256(archive.read_bytes()).hexdigest())
        slot.parent.mkdir(parents=True, exist_ok=True)
        if slot.exists():
            shutil.rmtree(slot)
        staging.rename(slot)


def reaches_out(spec: HelmSpec, chart_yaml: Path) -> bool:
    """True when a Git chart reads files outside its own directory (`../values.yaml`, a
    `/x` path from the repository root, a `file://../lib` dependency): it then needs its
    whole repository, not an export of its path alone."""
    paths = [*spec.value_files, *(p.path for p in spec.file_parameters)]
    local = [p for p in paths if not p.startswith("$") and "://" not in p]
    if any(p.startswith("/") or ".." in Path(p).parts for p in local):
        return True
    try:
        text = chart_yaml.read_text(errors="replace")
    except OSError:
        return False
    return "file://.." in text
