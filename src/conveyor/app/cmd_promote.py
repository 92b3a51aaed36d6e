"""`conveyor promote …` and `conveyor promote history …`: write new images into the GitOps
config repository (see `conveyor.promote`).

Exit codes: 0 promoted, already there (no-op) or skipped as older (`--only-if-newer`);
2 bad input, unreachable remote, refused credentials or a content conflict (one line that
says what to do; nothing pushed); 1 when every push attempt was rejected. Calls
`conveyor.promote.service`. Defaults from GitHub Actions' environment: the token from
`GITHUB_TOKEN`, `Conveyor-Source-Commit` from `GITHUB_SHA`, `Conveyor-Run` from the run URL.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import click

from conveyor.clients.gitwrite import Identity, Remote, mask
from conveyor.promote.errors import PromoteError, PromoteInputError
from conveyor.promote.imageref import check_digest, check_tag, parse_user_image
from conveyor.promote.paths import parse_set
from conveyor.promote.planner import EditSpec
from conveyor.promote.service import Mode, history, promote_between
from conveyor.promote.service import promote as promote_image
from conveyor.promote.writeback import DEFAULT_AUTHOR, Outcome, WriteRequest

EXIT_INPUT = 2
EXIT_CONTENTION = 1
_AUTHOR_RE = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+)>\s*$")


def _fail(ctx: click.Context, exc: PromoteError, secrets: list[str]) -> None:
    click.echo(f"error: {mask(str(exc), secrets)}", err=True)
    ctx.exit(EXIT_INPUT if isinstance(exc, PromoteInputError) else EXIT_CONTENTION)


def _author(text: str | None) -> Identity:
    if not text:
        return DEFAULT_AUTHOR
    match = _AUTHOR_RE.match(text)
    if match is None:
        raise PromoteInputError(
            f"--author {text!r} is not 'Name <email>'",
            hint='write --author "CI Bot <ci@example.com>"',
        )
    return Identity(name=match["name"], email=match["email"])


def _default_run() -> str | None:
    server, repo, run = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def _print(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(_to_json(outcome)))
        return
    click.echo(f"{outcome.status}: {outcome.reason}")
    for change in outcome.changes:
        mark = "=" if change.old == change.new else "~"
        click.echo(f"  {mark} {change.location}: {change.old or '(new)'} -> {change.new}")
    if outcome.diff:
        click.echo(outcome.diff, nl=False)


def _to_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "status": str(outcome.status),
        "reason": outcome.reason,
        "commit": outcome.commit,
        "base": outcome.base,
        "attempts": outcome.attempts,
        **outcome.extra,
        "changes": [
            {"location": str(c.location), "old": c.old, "new": c.new} for c in outcome.changes
        ],
        **({"diff": outcome.diff} if outcome.diff else {}),
    }


@click.group(
    "promote", invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option("--repo", help="Config repo URL or local path.")
@click.option("--branch", default="main", show_default=True)
@click.option("--image", help="Image repository (may carry :tag/@digest).")
@click.option("--tag", help="New tag.")
@click.option("--digest", help="New digest (sha256:…).")
@click.option("--env", "env", help="Environment from promotion.yaml.")
@click.option("--path", "paths", multiple=True, help="File or directory to edit (repeatable).")
@click.option("--set", "sets", multiple=True, help="FILE:.yq.path=VALUE (repeatable).")
@click.option("--from", "source", help="Copy what runs in this stage …")
@click.option("--to", "target", help="… into this one.")
@click.option(
    "--mode", type=click.Choice([m.value for m in Mode]), default="commit", show_default=True
)
@click.option("--only-if-newer", is_flag=True, help="Never replace a newer image.")
@click.option("--build-number", type=int, help="Order promotions by this number.")
@click.option("--app-repo", type=click.Path(path_type=Path), help="App repo for SHA ordering.")
@click.option("--source-commit", envvar="GITHUB_SHA", help="App commit (default $GITHUB_SHA).")
@click.option("--run", "run_url", help="CI run URL (default from GitHub's environment).")
@click.option("--message", help="Commit title.")
@click.option("--author", help='"Name <email>"')
@click.option("--max-attempts", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--force", is_flag=True, help="Allow skipping stages and approval rules.")
@click.option("--dry-run", is_flag=True, help="Show the diff, push nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--token", envvar="GITHUB_TOKEN", help="Token (default $GITHUB_TOKEN).")
@click.option("--github-api", help="GitHub API base URL (GitHub Enterprise, tests).")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Git cache directory.")
@click.pass_context
def promote_cmd(ctx: click.Context, /, **opts: Any) -> None:
    """Write a new image into the GitOps config repo: commit (with retries) or pull request."""
    if ctx.invoked_subcommand is not None:
        return
    token = opts["token"]
    try:
        _run(opts)
    except PromoteError as exc:
        _fail(ctx, exc, [token or ""])


def _run(opts: dict[str, Any]) -> None:
    if not opts["repo"]:
        raise PromoteInputError("--repo is required", hint="give the config repo URL or path")
    remote = Remote.parse(opts["repo"], opts["token"])
    image = parse_user_image(opts["image"]) if opts["image"] else None
    tag = check_tag(opts["tag"]) if opts["tag"] else (image.tag if image else None)
    digest = check_digest(opts["digest"]) if opts["digest"] else (image.digest if image else None)
    bare = image.with_version(tag=None, digest=None) if image else None
    spec = EditSpec(
        image=bare,
        tag=tag,
        digest=digest,
        env=opts["env"],
        paths=tuple(opts["paths"]),
        sets=tuple(parse_set(s) for s in opts["sets"]),
    )
    req = WriteRequest(
        remote=remote,
        spec=spec,
        branch=opts["branch"],
        author=_author(opts["author"]),
        title=opts["message"],
        source_commit=opts["source_commit"],
        run=opts["run_url"] or _default_run(),
        build_number=opts["build_number"],
        only_if_newer=opts["only_if_newer"],
        dry_run=opts["dry_run"],
        force=opts["force"],
        max_attempts=opts["max_attempts"],
        cache_root=opts["cache_dir"],
        app_repo=opts["app_repo"],
    )
    mode = Mode(opts["mode"])
    pr = None
    if mode == Mode.PULL_REQUEST:
        from conveyor.promote.pullrequest import PullRequestOptions

        pr = PullRequestOptions(api_url=opts["github_api"], token=opts["token"])
    if opts["source"] or opts["target"]:
        if not (opts["source"] and opts["target"]):
            raise PromoteInputError("--from and --to go together", hint="give both")
        outcomes = promote_between(
            req, opts["source"], opts["target"], bare, force=opts["force"], mode=mode, pr=pr
        )
    else:
        _check_spec(spec)
        outcomes = [promote_image(req, mode=mode, pr=pr)]
    for outcome in outcomes:
        _print(outcome, opts["as_json"])


def _check_spec(spec: EditSpec) -> None:
    if spec.image is None and not spec.sets:
        raise PromoteInputError("--image is required", hint="give --image NAME --tag T")
    if spec.image is not None and spec.tag is None and spec.digest is None:
        raise PromoteInputError("no version to promote", hint="give --tag and/or --digest")
    if spec.env is None and not spec.paths and not spec.sets:
        raise PromoteInputError("say where to promote", hint="give --env ENV or --path PATH")
    if spec.env is not None and spec.paths:
        raise PromoteInputError("--env and --path exclude each other", hint="give one")


@promote_cmd.command("history")
@click.option("--repo", required=True, help="Config repo URL or local path.")
@click.option("--branch", default="main", show_default=True)
@click.option("--env", "env", help="Only this environment.")
@click.option("--image", help="Only this image repository.")
@click.option("--limit", type=int, default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--token", envvar="GITHUB_TOKEN")
@click.option("--cache-dir", type=click.Path(path_type=Path))
@click.pass_context
def history_cmd(  # noqa: PLR0917 - click passes options positionally
    ctx: click.Context,
    repo: str,
    branch: str,
    env: str | None,
    image: str | None,
    limit: int,
    as_json: bool,
    token: str | None,
    cache_dir: Path | None,
) -> None:
    """Promotions of an environment/image from commit trailers, newest first."""
    try:
        ref = parse_user_image(image) if image else None
        entries = history(
            Remote.parse(repo, token),
            branch=branch,
            env=env,
            image=ref,
            cache_root=cache_dir,
            limit=limit,
        )
    except PromoteError as exc:
        _fail(ctx, exc, [token or ""])
        return
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries], indent=2))
        return
    for entry in entries:
        extra = f" build {entry.build_number}" if entry.build_number else ""
        click.echo(
            f"{entry.commit[:12]} {entry.date} {entry.environment or '-'} {entry.image}{extra}"
        )


promote = promote_cmd  # the attribute `conveyor.app.cli.LAZY_COMMANDS` names
