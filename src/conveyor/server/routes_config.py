"""REST routes for secrets (write-only), variables and environments, at org, repo and
environment scope. Reading a secret's value is impossible through the API: listings carry
names and update times only. Writing secrets and variables needs the write role; an
environment's protection rules (reviewers, wait timer, branches) the admin role, as on
GitHub (issue 12). Every change is written to the audit log (names, never values)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from conveyor.ci.settings import scope_of
from conveyor.server.auth import Principal, Role
from conveyor.server.pagination import PageParams
from conveyor.server.state import audit, need, state_of

router = APIRouter(prefix="/api/v1")
Reader = Annotated[Principal, Depends(need(Role.READ))]
Writer = Annotated[Principal, Depends(need(Role.WRITE))]
Admin = Annotated[Principal, Depends(need(Role.ADMIN))]


class ValueBody(BaseModel):
    value: str


class EnvironmentBody(BaseModel):
    reviewers: list[str] = Field(default_factory=list, description="token names allowed to approve")
    wait_timer: float = Field(0.0, description="seconds to wait after approval")
    branches: list[str] = Field(default_factory=list, description="allowed branch patterns")


def _scope(owner: str, repo: str | None = None, env: str | None = None) -> str:
    return scope_of(owner, repo, env)


# -- secrets ------------------------------------------------------------------------------


@router.get("/orgs/{owner}/secrets")
def org_secrets(request: Request, owner: str, _: Reader, page: PageParams) -> list[dict[str, Any]]:
    return page.slice(state_of(request).service.secret_names(_scope(owner)))


@router.put("/orgs/{owner}/secrets/{name}", status_code=204)
def put_org_secret(request: Request, owner: str, name: str, body: ValueBody, who: Writer) -> None:
    _put_secret(request, who, _scope(owner), name, body.value)


@router.delete("/orgs/{owner}/secrets/{name}", status_code=204)
def delete_org_secret(request: Request, owner: str, name: str, who: Writer) -> None:
    _delete_secret(request, who, _scope(owner), name)


@router.get("/repos/{owner}/{repo}/secrets")
def repo_secrets(
    request: Request, owner: str, repo: str, _: Reader, page: PageParams
) -> list[dict[str, Any]]:
    return page.slice(state_of(request).service.secret_names(_scope(owner, repo)))


@router.put("/repos/{owner}/{repo}/secrets/{name}", status_code=204)
def put_repo_secret(
    request: Request, *, owner: str, repo: str, name: str, body: ValueBody, who: Writer
) -> None:
    _put_secret(request, who, _scope(owner, repo), name, body.value)


@router.delete("/repos/{owner}/{repo}/secrets/{name}", status_code=204)
def delete_repo_secret(request: Request, owner: str, repo: str, name: str, who: Writer) -> None:
    _delete_secret(request, who, _scope(owner, repo), name)


@router.get("/repos/{owner}/{repo}/environments/{env}/secrets")
def env_secrets(
    request: Request, owner: str, repo: str, env: str, _: Reader, page: PageParams
) -> list[dict[str, Any]]:
    return page.slice(state_of(request).service.secret_names(_scope(owner, repo, env)))


@router.put("/repos/{owner}/{repo}/environments/{env}/secrets/{name}", status_code=204)
def put_env_secret(
    request: Request, *, owner: str, repo: str, env: str, name: str, body: ValueBody, who: Writer
) -> None:
    _put_secret(request, who, _scope(owner, repo, env), name, body.value)


def _put_secret(request: Request, who: Principal, scope: str, name: str, value: str) -> None:
    state_of(request).service.put_secret(scope, name, value)
    audit(request, who, "secret.put", f"{scope}/{name}")


def _delete_secret(request: Request, who: Principal, scope: str, name: str) -> None:
    state_of(request).service.delete_secret(scope, name)
    audit(request, who, "secret.delete", f"{scope}/{name}")


# -- variables ----------------------------------------------------------------------------


@router.get("/orgs/{owner}/variables")
def org_variables(request: Request, owner: str, _: Reader, page: PageParams) -> dict[str, str]:
    """Name → value, paged by name."""
    return page.slice_mapping(state_of(request).service.store.config.variables(_scope(owner)))


@router.put("/orgs/{owner}/variables/{name}", status_code=204)
def put_org_variable(request: Request, owner: str, name: str, body: ValueBody, who: Writer) -> None:
    _put_variable(request, who, _scope(owner), name, body.value)


@router.get("/repos/{owner}/{repo}/variables")
def repo_variables(
    request: Request, owner: str, repo: str, _: Reader, page: PageParams
) -> dict[str, str]:
    """Name → value, paged by name."""
    return page.slice_mapping(state_of(request).service.store.config.variables(_scope(owner, repo)))


@router.put("/repos/{owner}/{repo}/variables/{name}", status_code=204)
def put_repo_variable(
    request: Request, *, owner: str, repo: str, name: str, body: ValueBody, who: Writer
) -> None:
    _put_variable(request, who, _scope(owner, repo), name, body.value)


@router.put("/repos/{owner}/{repo}/environments/{env}/variables/{name}", status_code=204)
def put_env_variable(
    request: Request, *, owner: str, repo: str, env: str, name: str, body: ValueBody, who: Writer
) -> None:
    _put_variable(request, who, _scope(owner, repo, env), name, body.value)


def _put_variable(request: Request, who: Principal, scope: str, name: str, value: str) -> None:
    state_of(request).service.put_variable(scope, name, value)
    audit(request, who, "variable.put", f"{scope}/{name}")


# -- environments -------------------------------------------------------------------------


@router.get("/repos/{owner}/{repo}/environments")
def environments(
    request: Request, owner: str, repo: str, _: Reader, page: PageParams
) -> list[dict[str, Any]]:
    return page.slice(state_of(request).service.store.config.environments(f"{owner}/{repo}"))


@router.put("/repos/{owner}/{repo}/environments/{env}", status_code=204)
def put_environment(
    request: Request, *, owner: str, repo: str, env: str, body: EnvironmentBody, who: Admin
) -> None:
    """Protection rules: required reviewers, wait timer (s), allowed branches (admin)."""
    state_of(request).service.put_environment(
        f"{owner}/{repo}",
        env,
        reviewers=body.reviewers,
        wait_timer=body.wait_timer,
        branches=body.branches,
    )
    audit(request, who, "environment.put", f"{owner}/{repo}:{env}", body.model_dump())
