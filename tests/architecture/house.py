"""The house rules of issue 13, checked on the source text (AST only, nothing imported).

`tests/architecture/test_house.py` runs each check over `src/conveyor` (and `tests/` for the
last one) and fails with one line per finding, `path:line: what is wrong; what to do`:

- `oversized_classes`: a class with more than `MAX_METHODS` methods counting the methods it
  inherits from its in-project bases (a god object assembled from mixins);
- `type_checking_stubs`: a function or method declared under `if TYPE_CHECKING:` (a stub
  through which a mixin calls its host, or a hidden import cycle);
- `private_test_imports`: a test module importing a private name (`_x`) from another test
  module (a helper that should live, public, in a conftest or a helper module).

Each check takes `Source` values, so the unit tests in `test_house.py` feed it small
synthetic modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MAX_METHODS",
    "Finding",
    "Source",
    "oversized_classes",
    "private_test_imports",
    "read_tree",
    "shared_runs",
    "type_checking_stubs",
]

MAX_METHODS = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One module: its dotted name, the path findings name, and its text."""

    module: str
    path: str
    text: str
    is_package: bool = False
    tree: ast.Module = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", ast.parse(self.text, filename=self.path))

    def absolute(self, level: int, module: str | None) -> str:
        """The dotted name a `from <level dots><module> import` in this module refers to."""
        if level == 0:
            return module or ""
        parts = self.module.split(".")
        base = parts if self.is_package else parts[:-1]
        base = base[: len(base) - (level - 1)]
        return ".".join([*base, module] if module else base)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def read_tree(root: Path, package: str, relative_to: Path) -> list[Source]:
    """Every `*.py` under `root` (the directory of `package`) as a `Source`, with paths
    relative to `relative_to` (the repository root) so findings read `src/conveyor/...`."""
    sources = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join([package, *parts[:-1]] if is_package else [package, *parts])
        sources.append(
            Source(
                module=name,
                path=str(path.relative_to(relative_to)),
                text=path.read_text(encoding="utf-8"),
                is_package=is_package,
            )
        )
    return sources


# --- (a) classes counted with their in-project bases -------------------------------------


@dataclass(frozen=True, slots=True)
class _Class:
    source: Source
    node: ast.ClassDef


class _Project:
    """Classes by module and the names each module imports, to resolve bases by name."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self.classes: dict[str, dict[str, _Class]] = {}
        self.imports: dict[str, dict[str, tuple[str, str | None]]] = {}
        self.by_name: dict[str, list[_Class]] = {}
        for source in sources:
            self._index(source)

    def _index(self, source: Source) -> None:
        classes = self.classes.setdefault(source.module, {})
        imports = self.imports.setdefault(source.module, {})
        for node in source.tree.body:
            if isinstance(node, ast.ClassDef):
                classes[node.name] = _Class(source, node)
                self.by_name.setdefault(node.name, []).append(classes[node.name])
        for node in ast.walk(source.tree):
            if isinstance(node, ast.ImportFrom):
                origin = source.absolute(node.level, node.module)
                for alias in node.names:
                    imports[alias.asname or alias.name] = (origin, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    imports[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0],
                        None,
                    )

    def resolve(self, module: str, name: str, depth: int = 0) -> _Class | None:
        """The class `name` means in `module`: defined there, imported (following
        re-exports), or else the one project class of that name."""
        if depth > 10:
            return None
        if name in self.classes.get(module, {}):
            return self.classes[module][name]
        origin = self.imports.get(module, {}).get(name)
        if origin is not None:
            target, imported = origin
            if imported is None or target not in self.classes:
                return None  # a module, or a name from outside the project
            return self.resolve(target, imported, depth + 1)
        same = self.by_name.get(name, [])
        return same[0] if len(same) == 1 else None

    def base(self, module: str, expr: ast.expr) -> _Class | None:
        if isinstance(expr, ast.Name):
            return self.resolve(module, expr.id)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            target = self.imports.get(module, {}).get(expr.value.id)
            if target is not None:
                dotted = target[0] if target[1] is None else f"{target[0]}.{target[1]}"
                return self.resolve(dotted, expr.attr)
        if isinstance(expr, ast.Subscript):  # Generic[T], Base[int]
            return self.base(module, expr.value)
        return None

    def lineage(self, cls: _Class) -> list[_Class]:
        """`cls` and every in-project class it inherits from, each once."""
        seen: dict[int, _Class] = {}
        pending = [cls]
        while pending:
            current = pending.pop()
            if id(current.node) in seen:
                continue
            seen[id(current.node)] = current
            for expr in current.node.bases:
                found = self.base(current.source.module, expr)
                if found is not None:
                    pending.append(found)
        return list(seen.values())


def _method_names(node: ast.ClassDef) -> set[str]:
    """Functions defined in the class body, also inside its `if`/`try` blocks."""
    names: set[str] = set()
    pending: list[ast.stmt] = list(node.body)
    while pending:
        stmt = pending.pop()
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.If | ast.Try):
            pending.extend([*stmt.body, *stmt.orelse])
    return names


def method_count(sources: Iterable[Source]) -> dict[str, tuple[Finding, int]]:
    """`module.Class` → (where it is, how many distinct methods it has with its bases)."""
    project = _Project(sources)
    counts = {}
    for module, classes in project.classes.items():
        for name, cls in classes.items():
            lineage = project.lineage(cls)
            methods = set().union(*(_method_names(c.node) for c in lineage))
            bases = sorted(c.node.name for c in lineage if c is not cls)
            where = Finding(path=cls.source.path, line=cls.node.lineno, message=", ".join(bases))
            counts[f"{module}.{name}"] = (where, len(methods))
    return counts


def oversized_classes(sources: Iterable[Source], limit: int = MAX_METHODS) -> list[Finding]:
    """Classes with more than `limit` methods counting their in-project bases."""
    findings = []
    for name, (where, count) in sorted(method_count(sources).items()):
        if count <= limit:
            continue
        bases = f" (with its bases {where.message})" if where.message else ""
        findings.append(
            Finding(
                path=where.path,
                line=where.line,
                message=f"class {name.rsplit('.', 1)[1]} has {count} methods{bases}, more "
                f"than {limit}: split it into collaborators with one job each, built from "
                "the values they need and handed what they call, and keep a thin facade "
                "(issue 13, DESIGN.md 'Avoid': mixins)",
            )
        )
    return findings


# --- (b) functions under `if TYPE_CHECKING:` ---------------------------------------------


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _defs_under_type_checking(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                for inner in ast.walk(stmt):
                    if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                        yield inner


def type_checking_stubs(sources: Iterable[Source]) -> list[Finding]:
    """Every function or method declared under `if TYPE_CHECKING:`."""
    findings = []
    for source in sources:
        for node in sorted(_defs_under_type_checking(source.tree), key=lambda n: n.lineno):
            findings.append(
                Finding(
                    path=source.path,
                    line=node.lineno,
                    message=f"`def {node.name}` is declared under `if TYPE_CHECKING:` (a stub "
                    "for the type checker): pass the collaborator it stands for explicitly "
                    "(constructor argument, callable or Protocol) and delete the stub",
                )
            )
    return findings


# --- (c) private names imported from another test module ---------------------------------


def private_test_imports(sources: Iterable[Source], package: str = "tests") -> list[Finding]:
    """`from <a test module> import _name` in a test module (names under `package`)."""
    findings = []
    for source in sources:
        for node in ast.walk(source.tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            origin = source.absolute(node.level, node.module)
            if origin != package and not origin.startswith(package + "."):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    findings.append(_private_import(source, node.lineno, origin, alias.name))
    return findings


def _private_import(source: Source, line: int, origin: str, name: str) -> Finding:
    package, _, leaf = origin.rpartition(".")
    if leaf.startswith("test_"):
        fix = (
            f"move it to {package.replace('.', '/')}/conftest.py (as a fixture) or to a helper "
            "module, under a public name, and import it from there"
        )
    else:
        fix = f"{origin} is a helper module: give `{name}` a public name there"
    return Finding(
        path=source.path,
        line=line,
        message=f"imports the private `{name}` from {origin}; {fix}",
    )


# --- (d) runs of lines shared between two parts of the tree --------------------------------

RUN_LINES = 6


def _meaningful(source: Source) -> list[tuple[int, str]]:
    """(line number, stripped text) of the lines that carry code: no blanks, comments or
    lone brackets, so a shared run is shared logic, not shared punctuation."""
    out = []
    for number, raw in enumerate(source.text.splitlines(), start=1):
        text = raw.strip()
        if len(text) > 3 and not text.startswith("#"):
            out.append((number, text))
    return out


def shared_runs(left: Iterable[Source], right: Iterable[Source]) -> list[Finding]:
    """Each run of `RUN_LINES` meaningful lines found in a `left` module and again in a
    `right` one (issue 13: one planner, not a copy in `ci/` and one in the engine),
    reported at its place in `left`."""
    seen: dict[tuple[str, ...], str] = {}
    for source in right:
        lines = _meaningful(source)
        for i in range(len(lines) - RUN_LINES + 1):
            run = tuple(text for _, text in lines[i : i + RUN_LINES])
            seen.setdefault(run, f"{source.path}:{lines[i][0]}")
    findings = []
    for source in left:
        lines = _meaningful(source)
        for i in range(len(lines) - RUN_LINES + 1):
            twin = seen.get(tuple(text for _, text in lines[i : i + RUN_LINES]))
            if twin is not None:
                findings.append(
                    Finding(
                        path=source.path,
                        line=lines[i][0],
                        message=f"{RUN_LINES} lines also at {twin}; "
                        "keep the rule in one module and call it from both sides",
                    )
                )
    return findings
