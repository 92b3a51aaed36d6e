"""The oracle's corpus: generated valid workflows and mutations of them, from one seed.

`build_corpus(seed, bases)` makes `bases` valid workflows (`schema_gen`; the first `full` of
them use every optional property and one-of member in turn), then applies every tree
mutation (`mutations`, `mutations_features`) and every text mutation to some of them, each
at a random site; `Sample.kind` names what was done (`valid`, `tree:unknown-key`,
`text:anchor-alias`, …) so disagreements are grouped and the known ones looked up by kind.
Same seed, same corpus.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.workflow.oracle.mutations import TEXT_MUTATIONS, TREE_MUTATIONS
from tests.workflow.oracle.mutations_features import FEATURE_MUTATIONS
from tests.workflow.oracle.schema_gen import WorkflowGen
from tests.workflow.oracle.yamltext import dump


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One workflow text and how it was made."""

    name: str
    kind: str
    text: str


def build_corpus(seed: int, bases: int, *, full: int = 4) -> list[Sample]:
    rng = random.Random(seed)
    gen = WorkflowGen(rng)
    samples: list[Sample] = []
    for n in range(bases):
        tree = gen.workflow(full=n < full)
        sites = list(gen.sites)
        base = dump(tree)
        samples.append(Sample(name=f"{n}/valid", kind="valid", text=base))
        for kind, mutate in {**TREE_MUTATIONS, **FEATURE_MUTATIONS}.items():
            text = mutate(rng, tree, sites)
            if text is not None:
                samples.append(Sample(name=f"{n}/tree:{kind}", kind=f"tree:{kind}", text=text))
        for kind, edit in TEXT_MUTATIONS.items():
            text = edit(rng, base)
            if text is not None:
                samples.append(Sample(name=f"{n}/text:{kind}", kind=f"text:{kind}", text=text))
    return samples
