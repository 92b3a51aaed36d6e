"""One command-line string split into arguments the way GitHub's runner passes it on.

The runner builds `docker create` as one string (a service's `command:` is pasted after the
image) and starts it with .NET's `Process`, which on Linux splits that string with the
Windows C runtime's rules (.NET `ParseArgumentsIntoList`): spaces and tabs separate
arguments outside double quotes; `"` starts and ends a quoted part (`""` inside quotes is one
literal `"`); backslashes are literal unless they precede a `"`, where each pair gives one
backslash and an odd one makes the quote literal. Single quotes are ordinary characters, so
`-c 'echo hi'` is three arguments there, as here; a POSIX shell would give two.

Called by `conveyor.workflow.run.containers` for a service's `command:`. Pure.
"""

from __future__ import annotations


def split_arguments(text: str) -> list[str]:
    """The arguments .NET gives a process started with `text` as its argument string."""
    out: list[str] = []
    index = 0
    while index < len(text):
        while index < len(text) and text[index] in " \t":
            index += 1
        if index == len(text):
            break
        argument, index = _next_argument(text, index)
        out.append(argument)
    return out


def _next_argument(text: str, index: int) -> tuple[str, int]:
    parts: list[str] = []
    quoted = False
    while index < len(text):
        slashes = 0
        while index < len(text) and text[index] == "\\":
            slashes += 1
            index += 1
        if slashes:
            if index >= len(text) or text[index] != '"':
                parts.append("\\" * slashes)
            else:
                parts.append("\\" * (slashes // 2))
                if slashes % 2:
                    parts.append('"')
                    index += 1
            continue
        char = text[index]
        if char == '"':
            if quoted and index + 1 < len(text) and text[index + 1] == '"':
                parts.append('"')
                index += 1
            else:
                quoted = not quoted
            index += 1
            continue
        if char in " \t" and not quoted:
            break
        parts.append(char)
        index += 1
    return "".join(parts), index
