"""Job summaries (`GITHUB_STEP_SUMMARY`) as HTML that cannot run anything (issue 15).

`routes_runs` renders each job's summary through `render()`. The renderer is markdown-it
(CommonMark plus GitHub's tables and strikethrough) with raw HTML off: any tag a job writes
comes out as escaped text, where GitHub would let a few through (`<details>`, `<img>` …).
Links and images keep only `http:`, `https:`, `mailto:` and scheme-less (relative or
`#anchor`) targets; `javascript:`, `data:`, `vbscript:`, `file:` and the rest are dropped
to plain text. Links leave with `rel="nofollow noopener noreferrer"`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")
# what browsers ignore inside a scheme (`java\tscript:`), removed before reading it
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")


def safe_link(url: str) -> bool:
    """Whether a link or image target may reach the page: a safe scheme, or none."""
    found = _SCHEME.match(_IGNORED.sub("", url))
    return found is None or found.group(1).lower() in SAFE_SCHEMES


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.validateLink = safe_link  # type: ignore[method-assign]
    parser.add_render_rule("link_open", _link_open)
    return parser


_MD = _parser()


def render(text: str) -> Markup:
    """A summary's Markdown as HTML; every tag it holds arrives escaped (html=False)."""
    return Markup(_MD.render(text))
