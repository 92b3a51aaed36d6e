"""Agreement rates and the disagreements no entry in `divergences` explains.

Shared by the oracle test and `bench/lint_vs_parser.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tests.workflow.oracle.divergences import LAXER, LINE, PARSER_CASCADES, STRICTER, UNSUPPORTED
from tests.workflow.oracle.oracle import Outcome


@dataclass(frozen=True, slots=True, kw_only=True)
class Rates:
    samples: int
    same_decision: int
    same_line: int

    def __str__(self) -> str:
        decision = 100 * self.same_decision / self.samples
        line = 100 * self.same_line / self.samples
        return (
            f"{self.samples} samples: accept/reject {self.same_decision} ({decision:.2f}%), "
            f"first error line {self.same_line} ({line:.2f}%)"
        )


def rates(outcomes: Sequence[Outcome]) -> Rates:
    return Rates(
        samples=len(outcomes),
        same_decision=sum(o.same_decision for o in outcomes),
        same_line=sum(o.same_line for o in outcomes),
    )


def explained(outcome: Outcome) -> bool:
    """A known divergence (or no divergence at all)."""
    kind = outcome.sample.kind
    if outcome.same_line:
        return True
    if not outcome.same_decision:
        known = {**STRICTER, **UNSUPPORTED} if outcome.conveyor.rejected else LAXER
        return kind in known
    if kind in LINE:
        return True
    first = [m for m in outcome.parser.messages if m.startswith(f"{outcome.parser.line}:")]
    return any(cascade in m for m in first for cascade in PARSER_CASCADES)


def unexplained(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not explained(o)]


def diverging_kinds(outcomes: Sequence[Outcome]) -> Counter[str]:
    return Counter(o.sample.kind for o in outcomes if not o.same_line)
