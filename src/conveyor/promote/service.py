"""The library entry points of promotion (the CLI and Conveyor's own CI call these).

- `promote(req, mode=…)`: one image into one env or set of paths, as a commit or a PR;
- `promote_between(req_template, source, target, image, force)`: copy what runs in one
  stage into the next (one commit per image);
- `history(remote, branch, env, image)`: promotions read back from commit trailers.

Adapter failures are mapped here: refused credentials and unreachable remotes become
`PromoteInputError` (exit 2, message masked), other git failures `PromoteError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.clients.errors import ClientError
from conveyor.clients.gitwrite import GitCache, Remote, RemoteError, mask
from conveyor.promote import history as history_mod
from conveyor.promote import planner, stages
from conveyor.promote.errors import PromoteError, PromoteInputError
from conveyor.promote.groupcommit import GroupWriter
from conveyor.promote.history import LOG_FORMAT, Entry
from conveyor.promote.imageref import ImageRef
from conveyor.promote.writeback import Outcome, Writer, WriteRequest

if TYPE_CHECKING:  # pullrequest pulls in urllib: imported only for pull-request mode
    from conveyor.promote.pullrequest import PullRequestOptions


class Mode(StrEnum):
    COMMIT = "commit"
    PULL_REQUEST = "pull-request"


@contextlib.contextmanager
def mapped_errors(remote: Remote) -> Iterator[None]:
    """Turn adapter errors into promote errors with every secret masked."""
    secrets = [remote.token or ""]
    try:
        yield
    except RemoteError as exc:
        hint = {
            "auth": "give a token with push access (GITHUB_TOKEN or --token)",
            "unreachable": "check --repo and the network",
            "refused": "the remote's hooks or branch protection refused it; use --mode "
            "pull-request",
        }.get(exc.kind)
        raise PromoteInputError(mask(str(exc), secrets), hint=hint) from exc
    except ClientError as exc:
        raise PromoteError(mask(str(exc), secrets)) from exc


def promote(
    req: WriteRequest, *, mode: Mode = Mode.COMMIT, pr: PullRequestOptions | None = None
) -> Outcome:
    with mapped_errors(req.remote):
        if mode == Mode.PULL_REQUEST:
            pr_req = replace(req, require_commit_rule=False)
            from conveyor.promote.pullrequest import (  # noqa: PLC0415 (PR mode only: urllib costs ~60 ms)
                PullRequestOptions,
                open_pull_request,
            )

            return open_pull_request(pr_req, pr or PullRequestOptions(), Writer(pr_req))
        if req.shared_cache:
            return GroupWriter(req).promote()
        return Writer(req).run()


def promote_between(
    req: WriteRequest,
    source: str,
    target: str,
    image: ImageRef | None,
    *,
    force: bool = False,
    mode: Mode = Mode.COMMIT,
    pr: PullRequestOptions | None = None,
) -> list[Outcome]:
    """Copy the exact references running in `source` into `target` (next stage only)."""
    with mapped_errors(req.remote):
        cache = GitCache(req.remote, root=req.cache_root)
        cache.ensure()
        tip = _fetch(cache, req.branch, "refs/conveyor/from")
        with cache.snapshot(tip) as snap:
            config = planner.load_config(snap)
            if config is None:
                raise PromoteInputError(
                    "--from/--to need a promotion.yaml at the repo root",
                    hint="add one that lists the stages in order",
                )
            stages.check_order(config, source, target, force=force)
            specs = stages.copy_specs(snap, config, source, target, image)
    return [promote(replace(req, spec=spec), mode=mode, pr=pr) for spec in specs]


def history(
    remote: Remote,
    *,
    branch: str = "main",
    env: str | None = None,
    image: ImageRef | None = None,
    cache_root: Path | None = None,
    limit: int = 1000,
) -> list[Entry]:
    with mapped_errors(remote):
        cache = GitCache(remote, root=cache_root)
        cache.ensure()
        tip = _fetch(cache, branch, "refs/conveyor/history")
        out = cache.log(
            "-E",
            "--grep=^Conveyor-Image: ",
            f"--format={LOG_FORMAT}",
            f"--max-count={limit}",
            "--end-of-options",
            tip,
        )
    return history_mod.parse_log(out, env=env, image=image)


def _fetch(cache: GitCache, branch: str, ref: str) -> str:
    with cache.lock():
        tip = cache.fetch(branch, into=ref)
    if tip is None:
        raise PromoteInputError(
            f"branch {branch} does not exist on the remote", hint="give --branch"
        )
    return tip
