"""`conveyor affected`: which monorepo projects a change touches, as a CI matrix.

`conveyor-projects.yaml`:

```yaml
projects:
  web:
    paths: [services/web, "libs/ui/**/*.ts"]   # directories (everything below) or globs
    depends_on: [shared]                        # affected when `shared` is
  shared:
    paths: [libs/shared]
```

A project is affected when a changed file (base..head, renames count as both paths)
matches one of its paths, or when any project it depends on (transitively) is affected.
Globs: `*` and `?` stay within one path segment, `**` spans segments.

Pure: `parse_projects` and `affected` take text and file lists; the CLI supplies the
changed files through `conveyor.clients.git.Git.changed_files`. Outputs:
`matrix` = `{"include": [{"project": …, "path": …}]}` for
`strategy.matrix: ${{ fromJSON(needs.x.outputs.matrix) }}` (an empty include fails a
GitHub matrix job, so gate it with the `any` output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import yaml

from conveyor.promote.errors import PromoteInputError

CONFIG_NAME = "conveyor-projects.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    name: str
    paths: tuple[str, ...]
    depends_on: tuple[str, ...] = ()

    def matches(self, file: str) -> bool:
        return any(_pattern(p).fullmatch(file) for p in self.paths)


def _pattern(path: str) -> re.Pattern[str]:
    path = path.strip("/")
    if not any(c in path for c in "*?["):
        return re.compile(re.escape(path) + r"(?:/.*)?")
    out = []
    for part in re.split(r"(\*\*/|\*\*|\*|\?)", path):
        out.append(
            {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
        )
    return re.compile("".join(out))


def parse_projects(text: str, file: str = CONFIG_NAME) -> tuple[Project, ...]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PromoteInputError(f"{file}: not valid YAML: {exc}") from exc
    projects = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(projects, dict):
        raise PromoteInputError(
            f"{file}: expected `projects:` mapping names to paths",
            hint="see `conveyor affected --help`",
        )
    result = []
    for name, raw in projects.items():
        spec = {"paths": raw} if isinstance(raw, list) else raw
        if not isinstance(spec, dict):
            raise PromoteInputError(f"{file}: project {name} must map to paths/depends_on")
        paths = spec.get("paths", [])
        deps = spec.get("depends_on", [])
        if not isinstance(paths, list) or not isinstance(deps, list):
            raise PromoteInputError(f"{file}: project {name}: paths and depends_on are lists")
        result.append(
            Project(name=str(name), paths=tuple(map(str, paths)), depends_on=tuple(map(str, deps)))
        )
    names = {p.name for p in result}
    for project in result:
        unknown = set(project.depends_on) - names
        if unknown:
            raise PromoteInputError(
                f"{file}: project {project.name} depends on unknown {sorted(unknown)}"
            )
    return tuple(result)


def affected(projects: Iterable[Project], changed: Iterable[str]) -> list[Project]:
    """Affected projects in config order (direct matches plus dependents, transitively)."""
    projects = tuple(projects)
    files = list(changed)
    hit = {p.name for p in projects if any(p.matches(f) for f in files)}
    grew = True
    while grew:
        before = len(hit)
        hit |= {p.name for p in projects if hit & set(p.depends_on)}
        grew = len(hit) != before
    return [p for p in projects if p.name in hit]


def matrix(projects: Iterable[Project]) -> dict[str, list[dict[str, str]]]:
    include = []
    for project in projects:
        first = project.paths[0] if project.paths else ""
        root = re.split(r"[*?\[]", first)[0].rstrip("/") or "."
        include.append({"project": project.name, "path": root})
    return {"include": include}


def render(projects: list[Project], fmt: str) -> str:
    names = [p.name for p in projects]
    if fmt == "list":
        return "\n".join(names)
    if fmt == "github-output":
        return "\n".join(
            [
                f"matrix={json.dumps(matrix(projects), separators=(',', ':'))}",
                f"projects={json.dumps(names, separators=(',', ':'))}",
                f"any={'true' if names else 'false'}",
            ]
        )
    return json.dumps(matrix(projects), separators=(",", ":"))
