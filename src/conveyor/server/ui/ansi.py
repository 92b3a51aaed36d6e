"""ANSI escape sequences (SGR colours) as HTML: text escaped first, then only our spans.

Called by `conveyor.server.ui.logtext` for each log line. The CSP forbids inline styles, so
colours become classes (`ansi-fg-1`, `ansi-bg-4`, `ansi-bold` …) that `static/app.css`
paints: the 16 basic colours (30–37, 90–97, 40–47, 100–107), bold, dim, italic, underline
and reset; 256-colour (38;5;n) and truecolour (38;2;r;g;b) map to the nearest of the 16.
Every other escape sequence (cursor moves, erase line, OSC titles) is dropped. `SgrState`
carries the open attributes from one line to the next, as a terminal does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

# CSI … final byte, OSC … BEL/ST, or a lone ESC with one more character
_ESCAPE = re.compile(r"\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)")

_BASIC_RGB = (
    (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16),
    (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
    (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67),
    (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
)  # fmt: skip
_FLAGS = {1: "bold", 2: "dim", 3: "italic", 4: "underline"}
_UNFLAG = {22: ("bold", "dim"), 23: ("italic",), 24: ("underline",)}


def nearest(red: int, green: int, blue: int) -> int:
    """The index (0–15) of the basic colour nearest to an RGB colour."""
    return min(
        range(16),
        key=lambda i: sum(
            (a - b) ** 2 for a, b in zip(_BASIC_RGB[i], (red, green, blue), strict=True)
        ),
    )


def xterm256(index: int) -> int:
    """A 256-colour palette index as the nearest basic colour."""
    if index < 16:
        return index
    if index >= 232:
        level = 8 + (index - 232) * 10
        return nearest(level, level, level)
    index -= 16
    steps = (0, 95, 135, 175, 215, 255)
    return nearest(steps[index // 36], steps[index // 6 % 6], steps[index % 6])


@dataclass(slots=True)
class SgrState:
    """The open attributes: foreground and background (0–15 or None) and flags."""

    fg: int | None = None
    bg: int | None = None
    flags: set[str] = field(default_factory=set)

    def classes(self) -> str:
        names = [f"ansi-{flag}" for flag in sorted(self.flags)]
        if self.fg is not None:
            names.append(f"ansi-fg-{self.fg}")
        if self.bg is not None:
            names.append(f"ansi-bg-{self.bg}")
        return " ".join(names)

    def apply(self, params: str) -> None:
        codes = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")]
        at = 0
        while at < len(codes):
            at = self._one(codes, at) + 1

    def _one(self, codes: list[int], at: int) -> int:
        """Apply the code at `at`; returns the index of the last code it used."""
        code = codes[at]
        if code == 0:
            self.fg, self.bg, self.flags = None, None, set()
        elif code in _FLAGS:
            self.flags.add(_FLAGS[code])
        elif code in _UNFLAG:
            self.flags.difference_update(_UNFLAG[code])
        elif 30 <= code <= 37 or 90 <= code <= 97:
            self.fg = code - 30 if code < 90 else code - 82
        elif 40 <= code <= 47 or 100 <= code <= 107:
            self.bg = code - 40 if code < 100 else code - 92
        elif code in (39, 49):
            self.fg, self.bg = (None, self.bg) if code == 39 else (self.fg, None)
        elif code in (38, 48):
            return self._extended(codes, at)
        return at

    def _extended(self, codes: list[int], at: int) -> int:
        mode = codes[at + 1] if at + 1 < len(codes) else None
        if mode == 5 and at + 2 < len(codes):
            colour, last = xterm256(codes[at + 2] % 256), at + 2
        elif mode == 2 and at + 4 < len(codes):
            red, green, blue = (min(c, 255) for c in codes[at + 2 : at + 5])
            colour, last = nearest(red, green, blue), at + 4
        else:
            return len(codes)  # malformed: ignore the rest of this sequence
        if codes[at] == 38:
            self.fg = colour
        else:
            self.bg = colour
        return last


def to_html(text: str, state: SgrState | None = None) -> Markup:
    """`text` escaped, its SGR colours as `<span class="ansi-…">`; other escapes dropped.
    `state` (changed in place) carries colours across lines."""
    state = state if state is not None else SgrState()
    if "\x1b" not in text:
        return _span(escape(text), state.classes())
    out: list[str] = []
    at = 0
    for found in _ESCAPE.finditer(text):
        out.append(_span(escape(text[at : found.start()]), state.classes()))
        if found.group(2) == "m":
            state.apply(found.group(1) or "0")
        at = found.end()
    out.append(_span(escape(text[at:]), state.classes()))
    return Markup("".join(out))


def _span(body: Markup, classes: str) -> Markup:
    if not body or not classes:
        return body
    return Markup(f'<span class="{classes}">{body}</span>')


def plain(text: str) -> str:
    """`text` without escape sequences (what search and titles compare)."""
    return _ESCAPE.sub("", text) if "\x1b" in text else text
