"""The web UI's application page at size (issue 15: "an app with 1,000 objects renders its
tree in under a second").

Builds a real reconciler (memory target, SQLite store, a Git config repo) with one app of
`--objects` objects (a quarter each Deployments, Services, ConfigMaps and Secrets, so
the tree also holds a container under each Deployment), syncs it, serves the reconciler's
endpoint (`conveyor reconcile --listen`'s) and the server's UI (uvicorn) for real on
127.0.0.1, signs in through the login form and times, `--runs` times each:

* `GET /apps/big` on the UI: the whole page, tree included, as a browser receives it
  (the UI asks the reconciler for its JSON view, then renders) — target < 1 s;
* `GET /apps/big` on the reconciler: its JSON view alone (the peer the page is built on);
* `GET /apps/big/objects?ref=…` and `GET /apps/big/history` on the UI;
* the peer outside Conveyor: `kubectl kustomize` rendering the same objects from the same
  YAML (what an Argo CD repo server runs before its UI can show a tree).

Prints median, p95 and max per measure with the page size, the target, and the ratio of
the page's median to each peer's. Exits 1 when the page misses its target.

Run: `.venv/bin/python bench/ui_app_tree.py [--objects 1000] [--runs 20]`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from chromium_timing import browser_timing, print_timing

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.app.reconcilerworld import LiveReconciler, live_reconciler
from tests.reconcile.conftest import application, configmap, deployment, service

from conveyor.server.auth import Role
from conveyor.server.main import ServerConfig, build

TARGET = 1.0  # seconds, issue 15
LOGIN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def objects(count: int) -> list[dict[str, Any]]:
    """`count` objects: Deployments, Services, ConfigMaps and Secrets in equal parts."""
    out: list[dict[str, Any]] = []
    for i in range(count):
        name = f"svc-{i // 4:04d}"
        kind = i % 4
        if kind == 0:
            out.append(deployment(name, f"registry.local/{name}:1", replicas=2))
        elif kind == 1:
            out.append(service(name))
        elif kind == 2:
            out.append(configmap(name, {"setting": f"value-{i}"}))
        else:
            secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}}
            out.append({**secret, "stringData": {"token": f"secret-{i}"}})
    return out


def serve_ui(data: Path, rec: LiveReconciler) -> tuple[uvicorn.Server, str, Any]:
    app, state = build(ServerConfig(data_dir=data))
    assert rec.token_file is not None
    state.reconciler_url, state.reconciler_token_file = rec.url, str(rec.token_file)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", state


def sign_in(url: str, state: Any) -> httpx.Client:
    token = state.auth.issue("bench", Role.READ)
    client = httpx.Client(base_url=url, timeout=60)
    match = LOGIN_CSRF.search(client.get("/login").text)
    assert match is not None
    reply = client.post("/login", data={"token": token, "csrf": match.group(1), "next": "/"})
    assert reply.status_code == 303, reply.text
    return client


def timed(runs: int, fetch: Callable[[], int]) -> tuple[list[float], int]:
    """Seconds per run (after one warm-up) and the size of the last answer."""
    size = fetch()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        size = fetch()
        times.append(time.perf_counter() - started)
    return times, size


def get(client: httpx.Client, path: str, **headers: str) -> Callable[[], int]:
    def fetch() -> int:
        reply = client.get(path, headers=headers)
        assert reply.status_code == 200, (path, reply.status_code, reply.text[:500])
        return len(reply.content)

    return fetch


def kustomize(directory: Path) -> Callable[[], int] | None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None

    def fetch() -> int:
        done = subprocess.run(
            [kubectl, "kustomize", str(directory)], capture_output=True, check=True
        )
        return len(done.stdout)

    return fetch


def report(rows: list[tuple[str, list[float], int]], page: float) -> None:
    print(f"{'measure':<46} {'median':>9} {'p95':>9} {'max':>9} {'size':>9} {'page/this':>9}")
    for label, times, size in rows:
        ordered = sorted(times)
        median = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        ratio = f"{page / median:.2f}" if median else ""
        print(
            f"{label:<46} {median * 1000:>7.1f}ms {p95 * 1000:>7.1f}ms "
            f"{ordered[-1] * 1000:>7.1f}ms {size / 1024:>7.0f}kB {ratio:>9}"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-ui-tree-") as tmp:
        root = Path(tmp)
        with live_reconciler(root) as rec:
            manifests = objects(args.objects)
            rec.world.repo.write("app/all.yaml", yaml.safe_dump_all(manifests))
            rec.world.repo.commit("1,000 objects")
            started = time.perf_counter()
            reconciler = rec.start(application("big", rec.world.repo, "app"))
            status = rec.run(reconciler.sync("big"), timeout=600)
            print(
                f"app 'big': {args.objects} objects synced in "
                f"{time.perf_counter() - started:.1f} s; {status['sync']['status']}, "
                f"{status['health']['status']}"
            )
            peer_dir = root / "kustomize"
            peer_dir.mkdir()
            (peer_dir / "all.yaml").write_text(yaml.safe_dump_all(manifests))
            (peer_dir / "kustomization.yaml").write_text("resources: [all.yaml]\n")
            server, url, state = serve_ui(root / "server", rec)
            try:
                return measure(rec, url, state, peer_dir, args.runs)
            finally:
                server.should_exit = True


def measure(rec: LiveReconciler, url: str, state: Any, peer_dir: Path, runs: int) -> int:
    client = sign_in(url, state)
    direct = httpx.Client(base_url=rec.url, timeout=60)
    token = {
        "Authorization": f"Bearer {rec.token_file.read_text().strip() if rec.token_file else ''}"
    }
    page_times, page_size = timed(runs, get(client, "/apps/big"))
    html = client.get("/apps/big").text
    nodes = html.count('<li class="node ')
    ref = "apps/Deployment/prod/svc-0000"
    rows = [
        ("UI  GET /apps/big (page with the tree)", page_times, page_size),
        (
            "reconciler GET /apps/big (JSON view, peer)",
            *timed(runs, get(direct, "/apps/big", **token)),
        ),
        (
            "UI  GET /apps/big/objects?ref=… (one object)",
            *timed(runs, get(client, f"/apps/big/objects?ref={ref}")),
        ),
        ("UI  GET /apps/big/history", *timed(runs, get(client, "/apps/big/history"))),
    ]
    peer = kustomize(peer_dir)
    if peer is not None:
        rows.append(("kubectl kustomize (same objects, peer)", *timed(max(3, runs // 4), peer)))
    page = statistics.median(page_times)
    print(f"tree nodes on the page: {nodes} (objects and containers)")
    report(rows, page)
    verdict = "met" if page < TARGET else "MISSED"
    print(f"target: the app page in < {TARGET:.1f} s (median {page * 1000:.0f} ms): {verdict}")
    browser = browser_timing(f"{url}/apps/big", client, runs=5)
    print_timing("the app page with 1,000 objects", browser, TARGET)
    client.close()
    direct.close()
    in_browser = browser is None or browser.content_loaded < TARGET
    return 0 if page < TARGET and in_browser else 1


if __name__ == "__main__":
    sys.exit(main())
