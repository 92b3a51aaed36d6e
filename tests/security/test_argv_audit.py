"""Keeps option injection into `git` and `podman` closed (issue 12, finding 4), by reading
the source: every argv given to git or podman in src/ is checked, element by element.

What counts as an argv: a list literal starting with "git" or "podman", and the arguments of
a call to one of the helpers that run git or podman with the argv their caller gives
(`HELPERS`, found by name at their call sites; podman's are `Podman.run/json/argv`). A
helper is recognised where it is defined (`["git", *args]` with `args` its own parameter,
or `create_subprocess_exec(self.binary, *args)`): a new one fails here until it is listed.

The rule for an element: a literal is fine; an f-string is fine when it starts with literal
text (`refs/heads/{b}`, `--format={f}`: never read as a new option); a value is fine right
after an option that takes one (`-C`, `--name`, … in `VALUE_OPTIONS`), after `--` or
`--end-of-options`, or when it passes through a named check of `conveyor.core.gitargs` /
`conveyor.core.ociref` (`VALIDATORS`). Anything else fails with file:line. Why a read of
the source and not a table of builders only: builders are written every week, and a table
would have to be kept by hand; the walk needs a change only for a new helper, option or
check, and its failures name the line to fix.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import conveyor

SRC = Path(conveyor.__file__).parent
PROGRAMS = ("git", "podman")
END = ("--", "--end-of-options")
#: helpers that run git or podman with their caller's argv, by the module that calls them:
#: {callee as written: (leading arguments that are not argv, program)}
HELPERS: dict[str, dict[str, tuple[int, str]]] = {
    "clients/git.py": {"self.run": (0, "git")},
    "clients/gitmirror.py": {"git": (0, "git")},
    "clients/gitwrite.py": {"self.run": (0, "git")},
    "promote/service.py": {"cache.log": (0, "git")},
    "promote/writeback.py": {"self.cache.log": (0, "git")},
    "ci/triggers.py": {"_git": (1, "git")},
    "ci/webhooks.py": {"_git": (1, "git")},
    "workflow/run/actions/checkout.py": {"_git": (0, "git")},
    "workflow/run/actions/store.py": {"git": (0, "git")},
    "workflow/run/actions/builtins/build_push.py": {"_stream": (1, "podman")},
    "targets/podman/teardown.py": {"_names": (1, "podman")},
    "app/tour.py": {"self._git": (0, "git"), "self._podman": (0, "podman")},
}
#: where helpers are defined (module, function): each must be listed in HELPERS or be
#: one whose callers pass a list literal (checked as such)
HELPER_DEFS = {
    ("clients/git.py", "run"),
    ("clients/gitmirror.py", "git"),
    ("clients/gitwrite.py", "_exec"),
    ("clients/gitwrite.py", "run"),
    ("clients/gitwrite.py", "log"),
    ("workflow/run/actions/builtins/build_push.py", "_stream"),
    ("workflow/run/actions/docker.py", "_run"),
    ("targets/podman/teardown.py", "_names"),
    ("ci/triggers.py", "_git"),
    ("ci/webhooks.py", "_git"),
    ("workflow/run/actions/checkout.py", "_git"),
    ("workflow/run/actions/store.py", "git"),
    ("app/tour.py", "_git"),
    ("app/tour.py", "_podman"),
    ("app/seed.py", "_git"),
    ("clients/podman.py", "argv"),
    ("clients/podman.py", "run"),
}
#: modules whose helpers are called with lists (`_exec([...])`, `_git([...])`): the list
#: literals are checked where they are written
LIST_HELPERS = {
    "clients/gitwrite.py": ("self._exec", 0),
    "app/seed.py": ("_git", 0),
    "workflow/run/actions/docker.py": ("_run", 1),
}
PODMAN_METHODS = ("run", "json", "argv")
VALIDATORS = {
    "ref_name",
    "commit_id",
    "revision",
    "remote_url",
    "repository_name",
}
#: functions that return options only: `-c http.extraheader=…`, `--filter label=…`
OPTION_BUILDERS = {"_auth", "target_filter", "_label", "tls_flags"}
#: values that are podman options on purpose, as on GitHub: a job's or service's
#: `options:` string goes to `docker create` there; whoever writes it runs code in the job
PASSTHROUGH = {
    ("runners/podman.py", "self.options"),
    ("workflow/run/containers.py", "shlex.split"),
    # option/value pairs the Podman target built from checked manifest fields
    # (targets/podman/fields.py: names, mounts and ports validated, image after `--`)
    ("targets/podman/runtime.py", "f.replace"),
}
#: options whose next element is their value (so never read as an option itself); an
#: entry that takes no value would hide the positional after it: list only real ones
VALUE_OPTIONS = {
    "git": {"-C", "--git-dir", "-c", "--depth", "-m", "-am", "-p", "--branch", "--points-at"},
    "podman": {  # `-t`: build's tag, rm's and restart's timeout (never run's --tty here)
        "-t",
        "-u",
        "-p",
        "--authfile",
        "--stop-timeout",
        "--network-alias",
        "--tail",
        "--iidfile",
        "--digestfile",
        "--build-arg",
        "--target",
        "--name",
        "--entrypoint",
        "--network",
        "-v",
        "-e",
        "-w",
        "--env-file",
        "--label",
        "-f",
        "--filter",
        "--format",
        "--type",
    },
}


@dataclass(frozen=True, slots=True)
class Finding:
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


Scope = ast.FunctionDef | ast.AsyncFunctionDef


class Module:
    """One source file: its functions, and the innermost function around each node."""

    def __init__(self, name: str, tree: ast.Module) -> None:
        self.name = name
        self.tree = tree
        self.scope: dict[ast.AST, Scope] = {}
        self.parent: dict[Scope, Scope] = {}
        self.functions: dict[str, list[Scope]] = {}
        for func in ast.walk(tree):
            if isinstance(func, Scope):
                self.functions.setdefault(func.name, []).append(func)
        for func in sorted(
            (f for fs in self.functions.values() for f in fs), key=lambda f: f.lineno
        ):
            for node in ast.walk(func):  # inner functions come later and win
                self.scope[node] = func
                if isinstance(node, Scope) and node is not func:
                    self.parent[node] = func


def _modules() -> Iterator[Module]:
    for path in sorted(SRC.rglob("*.py")):
        yield Module(path.relative_to(SRC).as_posix(), ast.parse(path.read_text(), str(path)))


def _callee(node: ast.Call) -> str:
    """The callee as written (`self.podman.run`); a call on a call's result is never one
    of ours, so it is not unparsed (ast.unparse over all of src/ costs seconds)."""
    parts: list[str] = []
    func = node.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    elif isinstance(func, ast.Call) and isinstance(func.func, ast.Name):
        parts.append(f"{func.func.id}()")
    else:
        return ""
    return ".".join(reversed(parts))


def _is_podman_call(node: ast.Call) -> bool:
    """`podman.run(…)`, `self.podman.json(…)`, `pm.argv(…)`, `podman().run(…)`."""
    head, _, method = _callee(node).rpartition(".")
    return method in PODMAN_METHODS and re.search(r"(^|\.)(_?podman|pm)(\(\))?$", head) is not None


class _Rule:
    """The element rule over one argv (see the module docstring)."""

    def __init__(self, program: str, module: Module, scope: Scope | None) -> None:
        self.options = VALUE_OPTIONS[program]
        self.module = module
        self.scope = scope
        self.ended = False
        self.value_next = False
        self.findings: list[Finding] = []
        self._seen: set[int] = set()

    def check(self, elements: Iterable[ast.expr]) -> _Rule:
        for element in elements:
            self._one(element)
        return self

    def _flag(self, node: ast.expr, text: str) -> None:
        self.findings.append(Finding(f"{self.module.name}:{node.lineno}", text))

    def _one(self, node: ast.expr) -> None:
        taken, self.value_next = self.value_next, False
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.ended = self.ended or node.value in END
            self.value_next = node.value in self.options
            return
        if isinstance(node, ast.Starred):
            self._spread(node.value)
            return
        if self.ended or taken or self._safe(node) or self._passthrough(node):
            return
        self._flag(node, f"positional {ast.unparse(node)!r}")

    def _spread(self, value: ast.expr) -> None:
        """A `*spread`: literal lists are read through, local lists and same-module
        builders are followed; anything else only after `--`/`--end-of-options`."""
        if isinstance(value, ast.List | ast.Tuple):
            self.check(value.elts)
        elif isinstance(value, ast.ListComp):
            self._one(value.elt)
        elif isinstance(value, ast.IfExp):
            before = (self.ended, self.value_next)
            ends = []
            for branch in (value.body, value.orelse):
                self.ended, self.value_next = before
                self._spread(branch)
                ends.append(self.ended)
            self.ended = all(ends)
        elif isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            self._spread(value.left)
            self._spread(value.right)
        elif not (self.ended or self._passthrough(value) or self._followed(value)):
            self._flag(value, f"spread *{ast.unparse(value)}")

    def _followed(self, value: ast.expr) -> bool:
        if isinstance(value, ast.Call):
            options_only = _callee(value).rsplit(".")[-1] in OPTION_BUILDERS
            return options_only or self._follow_builder(value)
        return isinstance(value, ast.Name) and self._follow_local(value)

    def _passthrough(self, value: ast.expr) -> bool:
        text = _callee(value) if isinstance(value, ast.Call) else ast.unparse(value)
        return (self.module.name, text) in PASSTHROUGH

    def _follow_builder(self, call: ast.Call) -> bool:
        """A function of this module that returns argv lists: read its `return`s."""
        name = _callee(call).rsplit(".")[-1]
        funcs = self.module.functions.get(name, [])
        if len(funcs) != 1 or id(funcs[0]) in self._seen:
            return False
        self._seen.add(id(funcs[0]))  # (a recursion guard)
        returns = [r.value for r in ast.walk(funcs[0]) if isinstance(r, ast.Return) and r.value]
        outer, self.scope = self.scope, funcs[0]
        for value in returns:
            self._spread(value)
        self.scope = outer
        self._seen.discard(id(funcs[0]))
        return bool(returns)

    def _follow_local(self, name: ast.Name) -> bool:
        """A list built in this function from literals (`x = [...]`, `x += [...]`)."""
        scope = self.scope
        while scope is not None:  # the function that assigns it, or one around it
            parts = self._assignments(scope, name)
            if parts:
                break
            scope = self.module.parent.get(scope)
        if not parts:
            return False
        for _, value in sorted(parts, key=lambda part: part[0]):
            self._spread(value)
        return True

    @staticmethod
    def _assignments(scope: Scope, name: ast.Name) -> list[tuple[int, ast.expr]]:
        parts: list[tuple[int, ast.expr]] = []
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                named = any(isinstance(t, ast.Name) and t.id == name.id for t in targets)
                if named and node.value is not None:
                    parts.append((node.lineno, node.value))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and ast.unparse(node.func.value) == name.id
            ):
                if node.func.attr == "append":
                    parts.append((node.lineno, ast.List(elts=list(node.args))))
                elif node.func.attr == "extend":
                    parts.append((node.lineno, node.args[0]))
        return [part for part in parts if part[0] < name.lineno]  # (what came before use)

    def _safe(self, node: ast.expr) -> bool:
        if isinstance(node, ast.JoinedStr):
            return bool(node.values) and isinstance(node.values[0], ast.Constant)
        if isinstance(node, ast.Call):
            return _callee(node).rsplit(".")[-1] in VALIDATORS
        if isinstance(node, ast.Name) and self.scope is not None:
            return node.id in _literal_params(self.scope)
        return False


def _literal_params(func: Scope) -> set[str]:
    """Parameters typed `Literal[...]`: mypy --strict holds callers to those words."""
    args = func.args
    return {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)
        if a.annotation is not None and ast.unparse(a.annotation).startswith("Literal[")
    }


def _params(func: Scope) -> set[str]:
    args = func.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return set(names) | ({args.vararg.arg} if args.vararg else set())


def _names_program(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in PROGRAMS
    return ast.unparse(node) in ("self.binary", "self.executable")


def _spawned_params(module: Module, node: ast.AST) -> list[ast.expr]:
    """The elements after the program when `node` spawns git/podman with a spread of its
    function's own parameter (the function is then a helper), else []."""
    scope = module.scope.get(node)
    elts: list[ast.expr] = []
    if isinstance(node, ast.List):
        elts = node.elts
    elif isinstance(node, ast.Call) and _callee(node).endswith("create_subprocess_exec"):
        elts = node.args
    elif isinstance(node, ast.Call) and _is_podman_call(node):
        elts = [ast.Constant("podman"), *node.args]
    elif isinstance(node, ast.Call) and _callee(node) in HELPERS.get(module.name, {}):
        skip, program = HELPERS[module.name][_callee(node)]
        elts = [ast.Constant(program), *node.args[skip:]]
    if scope is None or not elts or not _names_program(elts[0]):
        return []
    params = _params(scope)
    found: list[ast.expr] = []
    for element in elts[1:]:
        if isinstance(element, ast.Constant) and element.value in END:
            break  # a spread after the end of options is a list of operands
        value = element.value if isinstance(element, ast.Starred) else None
        if isinstance(value, ast.Name) and value.id in params:
            found.append(element)
    return found


@functools.cache
def audit() -> tuple[list[Finding], list[Finding]]:
    """(unsafe positionals, helpers missing from HELPER_DEFS or listed but gone)."""
    findings: list[Finding] = []
    unknown: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for module in _modules():
        helpers = HELPERS.get(module.name, {})
        for node in ast.walk(module.tree):
            spread = _spawned_params(module, node)
            scope = module.scope.get(node)
            if spread:
                assert scope is not None
                seen.add((module.name, scope.name))
                if (module.name, scope.name) not in HELPER_DEFS:
                    unknown.append(
                        Finding(
                            f"{module.name}:{node.lineno}", f"{scope.name}() runs its caller's argv"
                        )
                    )
            if isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Constant):
                program = node.elts[0].value
                if program in PROGRAMS:
                    rest = [e for e in node.elts[1:] if e not in spread]
                    findings += _Rule(str(program), module, scope).check(rest).findings
                continue
            if not isinstance(node, ast.Call):
                continue
            callee = _callee(node)
            if _is_podman_call(node):
                args = [a for a in node.args if a not in spread]
                findings += _Rule("podman", module, scope).check(args).findings
            elif callee in helpers:
                skip, program = helpers[callee]
                args = [a for a in node.args[skip:] if a not in spread]
                findings += _Rule(program, module, scope).check(args).findings
            elif module.name in LIST_HELPERS and callee == LIST_HELPERS[module.name][0]:
                index = LIST_HELPERS[module.name][1]
                passed = node.args[index : index + 1]
                first = passed[0] if passed else None
                if scope and isinstance(first, ast.Name) and first.id in _params(scope):
                    seen.add((module.name, scope.name))
                    if (module.name, scope.name) not in HELPER_DEFS:  # it hands its argv on
                        where = f"{module.name}:{node.lineno}"
                        unknown.append(Finding(where, f"{scope.name}() runs its caller's argv"))
                    continue
                program = "podman" if "podman" in module.name or "docker" in module.name else "git"
                rule = _Rule(program, module, scope)
                for arg in node.args[index : index + 1]:
                    rule._spread(arg)
                findings += rule.findings
    for module_name, name in sorted(HELPER_DEFS - seen):
        unknown.append(Finding(module_name, f"{name}() is listed but runs no caller's argv"))
    return findings, unknown


def test_every_git_and_podman_positional_is_checked_or_after_end_of_options() -> None:
    findings, _ = audit()
    assert not findings, "values git/podman could read as options:\n" + "\n".join(
        map(str, findings)
    )


def test_every_helper_that_runs_git_or_podman_is_known_to_the_audit() -> None:
    _, unknown = audit()
    assert not unknown, (
        "argv builders: list new ones in HELPERS/HELPER_DEFS so their callers are checked, "
        "drop the ones that are gone:\n" + "\n".join(map(str, unknown))
    )


def test_the_audit_flags_a_bare_ref_and_accepts_the_protected_forms() -> None:
    bad = ast.parse('["git", "fetch", url, ref]').body[0]
    good = ast.parse(
        '["git", "-C", str(d), "fetch", "--end-of-options", url, ref];'
        '["git", "checkout", commit_id(sha), f"refs/heads/{b}"]'
    ).body
    assert isinstance(bad, ast.Expr) and isinstance(bad.value, ast.List)
    module = Module("x.py", ast.parse(""))
    rule = _Rule("git", module, None).check(bad.value.elts[1:])
    assert [f.text for f in rule.findings] == ["positional 'url'", "positional 'ref'"]
    for stmt in good:
        assert isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.List)
        assert _Rule("git", module, None).check(stmt.value.elts[1:]).findings == []
