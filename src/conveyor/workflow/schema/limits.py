"""The limits GitHub's workflow reader puts on one file, with its messages.

GitHub reads a workflow with `ParseOptions` (actions/runner src/Sdk/WorkflowParser/
ParseOptions.cs): at most `MaxFileSize` characters (UTF-16 code units, .NET's
`string.Length`), mappings and sequences nested at most `MaxDepth` deep, and a parsed result
of at most `MaxResultSize` bytes as its `TemplateMemory` counts them (24 bytes a token, 26
more plus two a character for a string). An action manifest is read with a depth of 100
(the runner's `ActionManifestManager`). Crossing the depth or the size stops the reader:
GitHub reports the message without a line (`<file>: Maximum object depth exceeded`); Conveyor
adds where it was crossed to the same message. `MaxErrors` (10) and
`MaxErrorMessageLength` (500) only shorten GitHub's report: `conveyor lint` lists every
problem in full.

Called by `nodes` (depth and size while composing) and `validate` (the file size). Pure.
"""

from __future__ import annotations

MAX_FILE_CHARS = 1024 * 1024
MAX_DEPTH = 50
MAX_ACTION_DEPTH = 100
MAX_RESULT_BYTES = 10 * 1024 * 1024

#: TemplateMemory.MinObjectSize and StringBaseOverhead
TOKEN_BYTES = 24
STRING_BYTES = 26

DEPTH_EXCEEDED = "Maximum object depth exceeded"
SIZE_EXCEEDED = "Maximum object size exceeded"


def utf16_length(text: str) -> int:
    """`text.Length` in .NET: characters outside the BMP count twice."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def file_too_large(text: str) -> str | None:
    """GitHub's message when `text` is over `MAX_FILE_CHARS`, else None."""
    if len(text) <= MAX_FILE_CHARS // 2 or utf16_length(text) <= MAX_FILE_CHARS:
        return None
    return f"The maximum file size of {MAX_FILE_CHARS} characters has been exceeded"


def scalar_bytes(value: object) -> int:
    """What GitHub's `TemplateMemory` counts for one scalar token (a string as written; an
    expression counts its text between `${{ }}`, a little less, which matters only within
    bytes of the limit)."""
    if isinstance(value, str):
        return TOKEN_BYTES + STRING_BYTES + 2 * len(value)
    return TOKEN_BYTES
