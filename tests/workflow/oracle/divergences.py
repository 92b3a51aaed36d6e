"""Where `conveyor lint` and GitHub's npm parser are known to disagree, and why.

Keyed by the corpus sample kind (`tests.workflow.oracle.corpus`). `STRICTER` kinds are rejected by
Conveyor and accepted by the npm parser; `LAXER` kinds the other way round; `LINE` kinds
are rejected by both with the first error on a different line. `RANDOM_SITE` kinds diverge
only where the random mutation lands, so a small corpus may not show them.
`PARSER_CASCADES` are parser messages that follow another error on an earlier line (a line
disagreement is explained when the parser's first-line message is one of them). Each entry
says whose behaviour Conveyor follows. The oracle test fails on any disagreement not listed
here, and on a listed one that no longer happens, so the table stays true. Every entry is
kept on purpose (Conveyor follows GitHub's server, or the npm parser is wrong); the bench
also reports the rates without these kinds.

Sources: actions/runner (GitHub's C# reader, the server's ancestor) under
src/Sdk/DTObjectTemplating/ObjectTemplating/ and src/Sdk/DTPipelines/Pipelines/
ObjectTemplating/; aaubry/YamlDotNet for the YAML parser GitHub's C# code uses.
"""

from __future__ import annotations

_SERVER = "GitHub's server (C# parser) rejects it; the npm parser does not check"
_YAML_LIB = (
    "YAML library difference: the npm `yaml` package is lenient here; GitHub's server reads "
    "YAML with YamlDotNet (a libyaml port), which rejects it like Conveyor's libyaml"
)
_LIMITS = (
    "GitHub's server stops reading at a ParseOptions limit (actions/runner src/Sdk/"
    "WorkflowParser/ParseOptions.cs), with no line; the npm parser has none of these limits"
)
_TAGS = "Conveyor rejects non-scalar and unknown tags as GitHub's C# YamlObjectReader does"

STRICTER: dict[str, str] = {
    "tree:on-branches-and-ignore": _SERVER + " (docs: 'You cannot use both the branches and "
    "branches-ignore filters for the same event')",
    "tree:on-paths-and-ignore": _SERVER + " (docs: 'You cannot use both the paths and "
    "paths-ignore filters for the same event')",
    "tree:step-uses-no-ref": _SERVER + " ('Expected format {org}/{repo}[/path]@ref')",
    "tree:job-matrix-empty-vector": _SERVER + " ('Matrix vector ... does not contain any values')",
    "tree:step-id-duplicate-case": _SERVER + " (ReferenceNameBuilder.TryAddKnownName keeps "
    "step ids in a HashSet with StringComparer.OrdinalIgnoreCase: 'The identifier ... may not "
    "be used more than once within the same scope')",
    "text:tag-custom": _TAGS,
    "text:tag-set": _TAGS,
    "text:tag-seq-on-mapping": _TAGS,
    "text:directive-yaml-2-0": _YAML_LIB + " (confirmed: YamlDotNet Parser.ProcessDirectives "
    "throws 'Found incompatible YAML document.' when the major version is not 1)",
    "text:directive-unknown": _YAML_LIB + " ('found unknown directive name'; not confirmed in "
    "YamlDotNet's scanner source, which was not at hand: libyaml's behaviour, YAML 1.2 §6.8 "
    "lets a parser warn instead)",
    "text:control-character": _YAML_LIB + " (YAML 1.2 §5.1 allows only printable characters; "
    "not confirmed in YamlDotNet's scanner source)",
    "text:nul-character": _YAML_LIB + " (as control-character)",
    "tree:matrix-exclude-unknown-key": "GitHub's server rejects the file ('Invalid workflow "
    "file … Matrix exclude key … does not match any key within the matrix', actions/runner "
    "MatrixBuilder.cs); the npm parser does not expand matrices",
    "tree:step-shell-invalid": "the runner fails the step ('Invalid shell option…', actions/"
    "runner ScriptHandler.cs) whatever the host; Conveyor's lint reports it before the run",
    "text:deep-flow-44": _LIMITS + " (ParseOptions.MaxDepth 50, TemplateMemory.IncrementDepth: "
    "'Maximum object depth exceeded'; 50 levels, deep-flow-43, pass both)",
    "tree:job-matrix-deep": _LIMITS + " (MaxDepth 50: a matrix value nested 60 deep)",
    "text:deep-flow-100": _LIMITS + " (MaxDepth 50, as deep-flow-44)",
    "text:deep-block-200": _LIMITS + " (MaxDepth 50: block mappings count like flow sequences)",
    "text:deep-alias-44": _LIMITS + " (MaxDepth 50: YamlObjectReader replays an alias's events "
    "where it stands, so aliased content counts at the alias's depth)",
    "text:result-over-10mib": _LIMITS + " (ParseOptions.MaxResultSize 10 MiB as TemplateMemory "
    "counts a parsed token: 24 bytes, a string 26 more plus 2 a character: 'Maximum object size "
    "exceeded')",
    "text:file-over-1mib": _LIMITS + " (ParseOptions.MaxFileSize, YamlTemplateLoader.LoadFile: "
    "'The maximum file size of 1048576 characters has been exceeded')",
    "tree:long-string": "GitHub's server limits an expression to 21,000 characters (C# "
    "ExpressionConstants.MaxLength); Conveyor too, for a long `if:` (always an expression); "
    "the npm parser has no limit",
}

LAXER: dict[str, str] = {
    "tree:job-env-number-key": "npm parser bug: a number key makes it throw "
    "'raw.indexOf is not a function'; the C# TemplateReader turns it into a string ('Not a "
    "string, convert': new StringToken(..., nextKeyScalar.ToString())), as Conveyor does",
    "text:directive-yaml-1-1": "npm parser artefact: `%YAML 1.1` switches the `yaml` package to "
    "YAML 1.1, where the `on` key is the boolean true, and the parser throws; YamlDotNet reads "
    "the same document as without the directive",
    "text:tag-float": "npm parser bug: `!!float 5` is not read as the number 5 ('Unexpected "
    "value'); the C# YamlObjectReader reads a tag:yaml.org,2002:float scalar with ParseFloat, "
    "whose MatchFloat accepts '5' (digits only), so the number 5, as Conveyor does",
}

#: rejected by Conveyor, accepted by GitHub: features Conveyor does not have, said so
#: (`[unsupported]`); not kept on purpose, so the bench's second rate counts them
UNSUPPORTED: dict[str, str] = {}

LINE: dict[str, str] = {
    "text:deep-flow-5000": "both reject: the npm parser overflows its stack ('Maximum call "
    "stack size exceeded') at a line; GitHub's server stops at level 51 with 'Maximum object "
    "depth exceeded' and no line, as Conveyor (which names the place in the message)",
    "text:tab-indent": "YAML library difference: the `yaml` package also reports the line "
    "before a tab-indented one ('may not be used as an implicit map key'); libyaml and "
    "Conveyor report the tab's line only",
}

RANDOM_SITE = frozenset({"tree:long-string", "text:tab-indent"})

PARSER_CASCADES: dict[str, str] = {
    "The workflow must contain at least one job with no dependencies": "npm parser cascade: a "
    "job whose conversion failed (a wrong type in `if`, `container`, a `services` name that is "
    "an expression, a null value, …) is left out of the graph, so the parser also reports this "
    "at `jobs:`. GitHub's server does not: the C# WorkflowTemplateConverter.ConvertToJobs "
    "(actions/runner src/Sdk/WorkflowParser/Conversion/) returns before its graph checks "
    "('if (context.Errors.Count != 0) return result;') once any error is recorded, so it reports "
    "only the real error, as Conveyor does",
}

#: every documented kind: the bench's second rate leaves them out
KEPT: frozenset[str] = frozenset({*STRICTER, *LAXER, *LINE})
