"""Where `conveyor lint` and GitHub's npm parser are known to disagree, and why.

Keyed by the corpus sample kind (`tests.oracle.corpus`). `STRICTER` kinds are rejected by
Conveyor and accepted by the npm parser; `LAXER` kinds the other way round; `LINE` kinds
are rejected by both with the first error on a different line. `RANDOM_SITE` kinds diverge
only where the random mutation lands, so a small corpus may not show them.
`PARSER_CASCADES` are parser messages that follow another error on an earlier line (a line
disagreement is explained when the parser's first-line message is one of them). Each entry
says whose behaviour Conveyor follows. The oracle test fails on any disagreement not listed
here, and on a listed one that no longer happens, so the table stays true.
"""

from __future__ import annotations

_SERVER = "GitHub's server (C# parser) rejects it; the npm parser does not check"
_YAML_LIB = (
    "YAML library difference: the npm `yaml` package is lenient here; GitHub's server reads "
    "YAML with YamlDotNet (a libyaml port), which rejects it like Conveyor's libyaml"
)
_ANCHORS = (
    "Conveyor still rejects anchors/aliases with the C# parser's old message; the npm parser "
    "(and GitHub since 2025) resolves them. Left: needs alias resolution in schema/nodes.py"
)
_TAGS = "Conveyor rejects non-scalar and unknown tags as GitHub's C# YamlObjectReader does"

STRICTER: dict[str, str] = {
    "tree:on-branches-and-ignore": _SERVER + " (docs: 'You cannot use both the branches and "
    "branches-ignore filters for the same event')",
    "tree:on-paths-and-ignore": _SERVER + " (docs: 'You cannot use both the paths and "
    "paths-ignore filters for the same event')",
    "tree:step-uses-no-ref": _SERVER + " ('Expected format {org}/{repo}[/path]@ref')",
    "tree:job-matrix-empty-vector": _SERVER + " ('Matrix vector ... does not contain any values')",
    "tree:step-id-duplicate-case": _SERVER + " (ids are case-insensitive, as `steps.<id>` is)",
    "text:anchor-unused": _ANCHORS,
    "text:anchor-alias": _ANCHORS,
    "text:tag-custom": _TAGS,
    "text:tag-set": _TAGS,
    "text:tag-seq-on-mapping": _TAGS,
    "text:directive-yaml-2-0": _YAML_LIB + " ('found incompatible YAML document')",
    "text:directive-unknown": _YAML_LIB + " ('found unknown directive name')",
    "text:control-character": _YAML_LIB + " (YAML allows only printable characters)",
    "text:nul-character": _YAML_LIB + " (YAML allows only printable characters)",
    "tree:long-string": "GitHub's server limits an expression to 21,000 characters (C# "
    "ExpressionConstants.MaxLength); Conveyor too, for a long `if:` (always an expression); "
    "the npm parser has no limit",
}

LAXER: dict[str, str] = {
    "tree:job-env-number-key": "npm parser bug: a number key makes it throw "
    "'raw.indexOf is not a function'; the C# reader turns the key into the string '1'",
    "text:directive-yaml-1-1": "npm parser artefact: `%YAML 1.1` switches the `yaml` package to "
    "YAML 1.1, where the `on` key is the boolean true, and the parser throws; YamlDotNet reads "
    "the same document as without the directive",
    "text:tag-float": "npm parser bug: `!!float 5` is not read as the number 5 ('Unexpected "
    "value'); the C# reader resolves the float tag to a number",
}

LINE: dict[str, str] = {
    "text:merge-key": _ANCHORS + "; Conveyor's first error is the anchor, the parser's the "
    "'<<' key",
    "text:only-document-marker": "Conveyor wrong: GitHub places the empty document after '---'",
    "text:block-literal-expression": "Conveyor wrong: GitHub names the line of the `${{` inside "
    "a multi-line scalar",
    "text:block-folded-expression": "Conveyor wrong: as for block-literal-expression",
    "text:plain-multiline-expression": "Conveyor wrong: as for block-literal-expression",
    "text:double-quoted-multiline-expression": "Conveyor wrong: as for block-literal-expression",
    "text:tab-indent": "YAML library difference: the `yaml` package also reports the line "
    "before a tab-indented one ('may not be used as an implicit map key'); libyaml and "
    "Conveyor report the tab's line only",
}

RANDOM_SITE = frozenset({"tree:long-string", "text:tab-indent"})

PARSER_CASCADES: dict[str, str] = {
    "The workflow must contain at least one job with no dependencies": "npm parser cascade: a "
    "job whose conversion failed (a wrong type in `if`, `container`, …) is left out of the "
    "graph, so the parser also reports this at `jobs:`; Conveyor reports only the real error",
}
