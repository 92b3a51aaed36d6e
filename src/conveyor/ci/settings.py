"""Secrets, variables, environments (protection rules) and approvals of the CI service.

`Settings` is built by `ci.wiring` from the service's `Deps` and the `Ledger`; `CIService`
exposes its methods to the API, `ci.gates` asks `environment_verdict` and `ci.runnerapi`
`decrypt_scope`, `check_environment` and `release_environment`. Scopes: `org:<owner>`,
`repo:<owner>/<name>`, `env:<owner>/<name>:<environment>`. Secrets are write-only:
`put_secret` encrypts (`ci.crypto.SecretBox`) and remembers the value in the service's
`Masker` (logs and server logs are masked with it); listings return names and dates only;
values are decrypted only into an assignment (org and repo scope) or, for an environment, in
`check_environment` once its rules passed (`environment_verdict`: allowed branches, required
reviewers, wait timer), which the server applies before a job is queued (`ci.gates`) and the
job's runner again when it reaches `environment:`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from conveyor.ci import tracespans
from conveyor.ci.deps import Deps
from conveyor.ci.errors import CIError, Conflict, Forbidden, NotFound
from conveyor.ci.events import from_fork
from conveyor.ci.ledger import Ledger
from conveyor.ci.model import ApprovalState, GateState, Status, Verdict
from conveyor.workflow.plan.globs import filter_matches

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def scope_of(owner: str, repo: str | None = None, environment: str | None = None) -> str:
    if repo is None:
        return f"org:{owner}"
    if environment is None:
        return f"repo:{owner}/{repo}"
    return f"env:{owner}/{repo}:{environment}"


def may_review(reviewers: Sequence[str], user: str, *, admin: bool) -> bool:
    """Who may decide a pending deployment of an environment: one of its required
    reviewers (token names) or an admin; anyone when it lists none. `Settings.decide`
    enforces it; the web UI asks it to show Approve / Reject only to those who may."""
    return not reviewers or user in reviewers or admin


def _check_name(name: str) -> None:
    if not _NAME.match(name) or name.upper().startswith("GITHUB_"):
        raise CIError(f"invalid secret or variable name {name!r} (letters, digits, _; no GITHUB_)")


class Settings:
    """Secrets, variables, environments and approvals (see the module docstring)."""

    def __init__(self, deps: Deps, ledger: Ledger) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger

    # -- secrets and variables ----------------------------------------------------------

    def put_secret(self, scope: str, name: str, value: str) -> None:
        _check_name(name)
        self.deps.masker.add(value)
        self.store.config.put_secret(scope, name, self.deps.box.seal(value))

    def delete_secret(self, scope: str, name: str) -> None:
        if not self.store.config.delete_secret(scope, name):
            raise NotFound(f"no secret {name} in {scope}")

    def secret_names(self, scope: str) -> list[dict[str, Any]]:
        return self.store.config.secret_names(scope)

    def decrypt_scope(self, scope: str) -> dict[str, str]:
        values = {
            k: self.deps.box.open(v) for k, v in self.store.config.secret_values(scope).items()
        }
        for value in values.values():
            self.deps.masker.add(value)
        return values

    def load_masks(self, scopes: Sequence[str]) -> None:
        for scope in scopes:
            self.decrypt_scope(scope)

    def put_variable(self, scope: str, name: str, value: str) -> None:
        _check_name(name)
        self.store.config.put_variable(scope, name, value)

    def delete_variable(self, scope: str, name: str) -> None:
        if not self.store.config.delete_variable(scope, name):
            raise NotFound(f"no variable {name} in {scope}")

    # -- environments and approvals -----------------------------------------------------

    def put_environment(
        self,
        repo: str,
        name: str,
        *,
        reviewers: Sequence[str] = (),
        wait_timer: float = 0.0,
        branches: Sequence[str] = (),
    ) -> None:
        self.store.config.put_environment(
            repo, name, reviewers=reviewers, wait_timer=wait_timer, branches=branches
        )

    def environment_verdict(
        self, run_id: int, environment: str, *, new_job: bool = False
    ) -> Verdict:
        """waiting | approved | rejected (with a message), without any secret: allowed
        branches first (nothing waits on a branch that may not deploy), then required
        reviewers (the approval is requested on the first call), then the wait timer, counted
        from that request. `new_job`: a job of the run asks for the first time; GitHub
        reviews each job, so an approval already decided is asked again (`ci.gates`)."""
        run = self.ledger.run(run_id)
        rules = self.store.config.environment(run.repo, environment)
        if rules and rules["branches"] and run.ref.startswith("refs/tags/"):
            # branch rules allow branches: a tag named like one is still a tag (issue 12, #10)
            return Verdict(
                state=GateState.REJECTED,
                message=f"Tag '{run.ref.removeprefix('refs/tags/')}' is not allowed to deploy "
                f"to {environment}: its protection rules allow only branches.",
            )
        branch = run.ref.removeprefix("refs/heads/")
        if rules and rules["branches"] and not filter_matches(rules["branches"], branch):
            return Verdict(
                state=GateState.REJECTED,
                message=f"Branch '{branch}' is not allowed to deploy to {environment} "
                "due to environment protection rules.",
            )
        if new_job and rules and (rules["reviewers"] or rules["wait_timer"]):
            self._ask_again(run_id, environment, review=bool(rules["reviewers"]))
        return self._review(run_id, environment, rules)

    def _review(self, run_id: int, environment: str, rules: dict[str, Any] | None) -> Verdict:
        """The required reviewers' decision, then the wait timer."""
        needs_review = bool(rules and rules["reviewers"])
        approval = self.store.config.approval(
            run_id, environment
        ) or self.store.config.request_approval(
            run_id,
            environment,
            state=ApprovalState.PENDING if needs_review else ApprovalState.APPROVED,
        )  # (read first: waiting jobs ask on every tick of the supervisor)
        if approval["state"] == ApprovalState.PENDING:
            return Verdict(
                state=GateState.WAITING, message=f"waiting for a review of {environment}"
            )
        if approval["state"] != ApprovalState.APPROVED:
            by = approval["decided_by"] or "a reviewer"
            note = f": {approval['comment']}" if approval["comment"] else ""
            return Verdict(
                state=GateState.REJECTED, message=f"{environment} was rejected by {by}{note}"
            )
        wait_timer = float(rules["wait_timer"]) if rules else 0.0
        if self.deps.clock() < approval["requested"] + wait_timer:
            return Verdict(state=GateState.WAITING, message=f"wait timer of {wait_timer:g} s")
        return Verdict(state=GateState.APPROVED)

    def _ask_again(self, run_id: int, environment: str, *, review: bool) -> None:
        """Reopen the run's decided approval of `environment` for a new job, unless jobs
        still wait on it (they share it: one review releases the jobs waiting together)."""
        for unit in self.ledger.units(run_id=run_id, status=(Status.WAITING,)):
            if unit.environment == environment:
                return
        # a wait timer alone starts again
        state = ApprovalState.PENDING if review else ApprovalState.APPROVED
        self.store.reopen_approval(run_id, environment, state=state)

    def check_environment(self, run_id: int, environment: str) -> dict[str, Any]:
        """`environment_verdict`, and once approved the environment's secrets and variables
        (for the runner of the job that deploys: `RunnerProtocol.environment_gate`)."""
        verdict = self.environment_verdict(run_id, environment)
        if verdict.state != GateState.APPROVED:
            return verdict.as_dict()
        return self.release_environment(run_id, environment)

    def release_environment(self, run_id: int, environment: str) -> dict[str, Any]:
        """The environment's secrets and variables, decrypted, for a job whose rules passed
        (`state` approved): the server gated it (`ci.gates`) or `check_environment` did."""
        run = self.ledger.run(run_id)
        owner, _, name = run.repo.partition("/")
        scope = scope_of(owner, name, environment)
        fork = from_fork(run.event, run.payload)  # no secrets (issue 12 §7)
        return {
            "state": GateState.APPROVED,
            "secrets": {} if fork else self.decrypt_scope(scope),
            "vars": self.store.config.variables(scope),
        }

    def decide(
        self,
        run_id: int,
        environment: str,
        *,
        user: str,
        admin: bool,
        approve: bool,
        comment: str = "",
    ) -> None:
        """Approve or reject a pending deployment; only listed reviewers (or an admin) may.
        `CIService.decide` then lets the run's waiting jobs go (`ci.gates`)."""
        run = self.ledger.run(run_id)
        approval = self.store.config.approval(run_id, environment)
        if approval is None:
            raise NotFound(f"run {run_id} has no deployment to {environment} awaiting review")
        if approval["state"] != ApprovalState.PENDING:
            raise Conflict(f"run {run_id}: {environment} is already {approval['state']}")
        rules = self.store.config.environment(run.repo, environment)
        reviewers = rules["reviewers"] if rules else []
        if not may_review(reviewers, user, admin=admin):
            raise Forbidden(f"{user} is not a required reviewer of {environment}")
        state = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
        self.store.config.decide(run_id, environment, state=state, by=user, comment=comment)
        self.deps.count(f"approvals_{state}")
        tracespans.review_decided(
            run, environment, requested=approval["requested"], decided=self.deps.clock(),
            state=str(state),
        )  # fmt: skip
