"""`conveyor approve RUN_ID --env production` and `conveyor reject RUN_ID --env production`.

Thin clients of the server's API (`POST /api/v1/runs/{id}/approve|reject`). The server
and token come from `--server`/`--token`, else `$CONVEYOR_SERVER`/`$CONVEYOR_TOKEN`, else
http://127.0.0.1:8080 and the admin token file `.conveyor/server/admin-token`.
"""

from __future__ import annotations

from pathlib import Path

import click

from conveyor.core.errors import UserError

DEFAULT_TOKEN_FILE = Path(".conveyor/server/admin-token")


def _token(token: str | None) -> str:
    if token:
        return token
    if DEFAULT_TOKEN_FILE.exists():
        return DEFAULT_TOKEN_FILE.read_text().strip()
    raise UserError("no token", hint="pass --token or set CONVEYOR_TOKEN")


def _decide(
    verb: str,
    run_id: int,
    *,
    env: str,
    comment: str,
    server: str,
    token: str | None,
    ca_file: Path | None,
) -> None:
    import httpx

    from conveyor.clients import tls

    url = f"{server.rstrip('/')}/api/v1/runs/{run_id}/{verb}"
    try:
        reply = httpx.post(
            url,
            json={"environment": env, "comment": comment},
            headers={"Authorization": f"Bearer {_token(token)}"},
            timeout=30,
            verify=tls.verify(ca_file),
        )
    except httpx.TransportError as exc:
        raise UserError(
            f"cannot reach {server}: {type(exc).__name__}", hint="is `conveyor server` running?"
        ) from exc
    if reply.status_code != 200:
        detail = reply.json().get("detail", reply.text) if reply.content else reply.reason_phrase
        raise UserError(f"{verb} run {run_id} ({env}): {reply.status_code} {detail}")
    click.echo(f"run {run_id}: {env} {reply.json()['state']}")


_server = click.option(
    "--server",
    envvar="CONVEYOR_SERVER",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Server URL ($CONVEYOR_SERVER).",
)
_tok = click.option(
    "--token",
    envvar="CONVEYOR_TOKEN",
    default=None,
    help="API token ($CONVEYOR_TOKEN; default: the admin token file).",
)
_ca = click.option(
    "--ca-file",
    envvar="CONVEYOR_CA_FILE",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="PEM CA certificate of an https server ($CONVEYOR_CA_FILE).",
)
_env = click.option("--env", "env", required=True, help="The environment, e.g. production.")
_comment = click.option("--comment", default="", help="Why.")


@click.command("approve")
@click.argument("run_id", type=int)
@_env
@_comment
@_server
@_tok
@_ca
def approve(  # noqa: PLR0917 - click passes options positionally
    run_id: int, env: str, comment: str, server: str, token: str | None, ca_file: Path | None
) -> None:
    """Approve RUN_ID's deployment to an environment (its secrets are released)."""
    _decide(
        "approve", run_id, env=env, comment=comment, server=server, token=token, ca_file=ca_file
    )


@click.command("reject")
@click.argument("run_id", type=int)
@_env
@_comment
@_server
@_tok
@_ca
def reject(  # noqa: PLR0917 - click passes options positionally
    run_id: int, env: str, comment: str, server: str, token: str | None, ca_file: Path | None
) -> None:
    """Reject RUN_ID's deployment to an environment (the job fails)."""
    _decide("reject", run_id, env=env, comment=comment, server=server, token=token, ca_file=ca_file)
