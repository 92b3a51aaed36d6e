"""`conveyor lint` against GitHub's own parser, npm `@actions/workflow-parser`, as the oracle.

A bounded corpus (fixed seed: valid workflows covering the schema, each mutated every way
`tests.workflow.oracle.mutations` knows) is parsed by the npm package in one node process and
checked
by Conveyor; both must accept or reject each file alike and name the same first error line,
except for the divergences `tests.workflow.oracle.divergences` lists with their reasons. The full
corpus and its rates: `bench/lint_vs_parser.py`. Skipped when node or the package is absent.
"""

from __future__ import annotations

import functools
import random

import pytest

from tests.workflow.oracle.agreement import diverging_kinds, rates, unexplained
from tests.workflow.oracle.corpus import build_corpus
from tests.workflow.oracle.divergences import KEPT, LAXER, LINE, RANDOM_SITE, STRICTER, UNSUPPORTED
from tests.workflow.oracle.oracle import Outcome, compare, parser_available
from tests.workflow.oracle.schema_gen import WorkflowGen

pytestmark = [
    pytest.mark.skipif(not parser_available(), reason="node or @actions/workflow-parser absent"),
    pytest.mark.xdist_group(name="oracle"),
]

SEED = 20260311
BASES = 6


@functools.cache
def outcomes() -> tuple[Outcome, ...]:
    return tuple(compare(build_corpus(SEED, BASES, full=BASES)))


def _show(outcome: Outcome) -> str:
    return (
        f"{outcome.sample.name}: parser {outcome.parser.messages[:2]} "
        f"conveyor {outcome.conveyor.messages[:2]}\n{outcome.sample.text[:600]}"
    )


def test_generated_workflows_reach_every_schema_definition() -> None:
    gen = WorkflowGen(random.Random(SEED))
    for _ in range(9):  # `on` takes its three forms in turn: three mappings
        gen.workflow(full=True)
    assert gen.reachable() - gen.seen == set()


def test_lint_agrees_with_the_parser_except_for_documented_divergences() -> None:
    found = outcomes()
    assert len(found) > 800
    assert [_show(o) for o in unexplained(found)] == []
    print(rates(found))
    print(rates([o for o in found if o.sample.kind not in KEPT]))


def test_every_documented_divergence_still_happens() -> None:
    kinds = diverging_kinds(outcomes())
    listed = {*STRICTER, *LAXER, *LINE, *UNSUPPORTED} - RANDOM_SITE
    stale = [kind for kind in sorted(listed) if kind not in kinds]
    assert stale == []
