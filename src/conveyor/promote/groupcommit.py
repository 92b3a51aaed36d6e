"""Group commit: promotions on one machine share pushes instead of rejecting each other.

A push over HTTP costs ~100–250 ms here, so one push per promotion caps a busy repo at a
handful of promotions per second no matter how well retries converge. Processes that
share the machine's cache therefore cooperate through two file locks and a small state
file next to the cache (`conveyor-<branch>.json`: the remote tip last seen, the chain of
local commits not yet pushed, recently landed commits):

1. under the state lock (held only for a plan and one `git fast-import`, tens of ms):
   plan on the tip of the pending chain (or the known remote tip), commit on top of it,
   append the commit to the chain;
2. under the push lock: if our commit already landed (a sibling pushed a chain that
   contained it) we are done; otherwise push the whole chain, record what landed.

Every promotion keeps its own commit and trailers (history stays complete), the push is
an ordinary fast-forward, and remote writers elsewhere are handled as before: a rejected
push fetches the new tip and drops the pending chain; each owner re-plans its own edit on
the new tip when it next holds the push lock (re-apply, never rebase), with the same
conflict and `--only-if-newer` checks. A no-op decided on the known tip is confirmed by a
fetch; decisions against a pending chain are relative to commits that will land first.
A push that fails (refused credentials, say) or an interrupt drops the whole pending
chain, and a chain idle for two minutes (its owners were killed) is dropped on load, so a
failed promotion never lands later as a side effect of another one.

Used by `service.promote` for commit mode with a shared cache (the default).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.clients.gitrepo import is_ancestor
from conveyor.clients.gitwrite import PushOutcome
from conveyor.promote.errors import PushContention
from conveyor.promote.writeback import Built, Outcome, Status, Writer, backoff

LANDED_KEPT = 5000
STALE_AFTER = 120.0  # seconds without any activity before a pending chain is dropped
_UNSAFE_RE = re.compile(r"[^\w.-]+")


@dataclass(slots=True, kw_only=True)
class ChainState:
    known: str | None = None
    pending: list[str] = field(default_factory=list)
    landed: list[str] = field(default_factory=list)
    updated: float = 0.0


class GroupWriter(Writer):
    """`Writer` for the shared-cache commit path (see the module docstring)."""

    @property
    def _state_file(self) -> Path:
        branch = _UNSAFE_RE.sub("_", self.req.branch)
        return self.cache.dir / f"conveyor-{branch}.json"

    def _load(self) -> ChainState:
        try:
            data = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return ChainState()
        state = ChainState(
            known=data.get("known"),
            pending=list(data.get("pending", [])),
            landed=list(data.get("landed", [])),
            updated=float(data.get("updated", 0.0)),
        )
        if state.pending and time.time() - state.updated > STALE_AFTER:
            state.pending = []  # left by killed processes: never push forgotten commits
        return state

    def _save(self, state: ChainState) -> None:
        temp = self._state_file.with_name(f"{self._state_file.name}.{os.getpid()}")
        temp.write_text(
            json.dumps(
                {
                    "known": state.known,
                    "pending": state.pending,
                    "landed": state.landed[-LANDED_KEPT:],
                    "updated": time.time(),
                }
            )
        )
        temp.replace(self._state_file)

    def _fetch(self) -> str:
        tip, _ = self._tip()
        return tip

    def promote(self) -> Outcome:
        self.cache.ensure()
        with self.cache.lock():
            state = self._load()
            built = self._append(state)
            self._save(state)
        if built.verdict is not None:
            return built.verdict
        try:
            return self._push_until_landed(built)
        except BaseException:
            self._drop_pending()  # an error or interrupt must not leave a commit to land later
            raise

    def _drop_pending(self) -> None:
        """Drop the whole pending chain; live owners of other commits re-apply theirs."""
        with self.cache.lock():
            state = self._load()
            state.pending = []
            self._save(state)

    def _append(self, state: ChainState) -> Built:
        """Plan and commit on the chain's tip; a no-op on a stale known tip is re-checked."""
        fresh = state.known is None
        if state.known is None:
            state.known = self._fetch()
        base = state.pending[-1] if state.pending else state.known
        built = self.build(base, fresh=fresh or bool(state.pending))
        if built.verdict is not None and not built.confirmed:
            tip = self._fetch()
            if tip != state.known:
                state.known, state.pending = tip, []
            built = self.build(state.pending[-1] if state.pending else tip, fresh=True)
        if built.sha is not None:
            state.pending.append(built.sha)
        return built

    def _push_until_landed(self, built: Built) -> Outcome:
        mine = built.sha
        rejections = 0
        while True:
            with self.cache.lock("push"):
                with self.cache.lock():
                    state = self._load()
                    if mine in state.landed:
                        return self._landed(built, mine)
                    if mine not in state.pending:  # dropped after a rejection: re-apply
                        if self.attempts >= self.req.max_attempts:
                            raise PushContention(f"gave up after {self.attempts} attempts")
                        built = self._append(state)
                        self._save(state)
                        if built.verdict is not None:
                            return built.verdict
                        mine = built.sha
                    chain = list(state.pending)  # head and its pending ancestors
                    head = chain[-1]
                outcome = self.cache.push(head, f"refs/heads/{self.req.branch}")
                with self.cache.lock():
                    state = self._load()
                    if outcome == PushOutcome.OK:  # siblings may have appended meanwhile
                        state.landed += chain
                        state.known = head
                        state.pending = [sha for sha in state.pending if sha not in chain]
                    else:
                        tip = self._fetch()
                        self._forget_other_history(state.known, tip)
                        state.known, state.pending = tip, []
                    self._save(state)
            if outcome == PushOutcome.REJECTED:
                rejections += 1
                self.sleep(backoff(rejections, self.rng))

    def _forget_other_history(self, known: str | None, tip: str) -> None:
        """A remote whose tip does not descend from the tip this cache knew is another
        repository under the same URL (a platform re-created after its state was wiped):
        what the first attempt planned on was never the remote's content, so it is no
        base for the "changed by hand between attempts" check either."""
        if known is not None and is_ancestor(self.cache.dir, known, tip) is not True:
            self.first = None

    def _landed(self, built: Built, sha: str | None) -> Outcome:
        assert sha is not None
        return self._done(
            Status.PROMOTED,
            f"pushed {sha[:12]} to refs/heads/{self.req.branch}",
            built.plan,
            commit=sha,
            base=built.base,
        )
