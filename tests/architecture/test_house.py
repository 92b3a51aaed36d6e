"""Issue 13's house rules over the real tree, then the checker itself on small synthetic
modules (so each rule is shown both to fail and to pass).

The first three tests fail until the CI service, the CI stores and the Podman healer are
split (issue 13 items 1 and 4); they are not marked xfail on purpose: each failure line
names `path:line` and what to do.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from textwrap import dedent

import pytest

from tests.architecture.house import (
    MAX_METHODS,
    Finding,
    Source,
    oversized_classes,
    private_test_imports,
    read_tree,
    shared_runs,
    type_checking_stubs,
)

ROOT = Path(__file__).resolve().parents[2]


@cache
def project() -> tuple[Source, ...]:
    return tuple(read_tree(ROOT / "src" / "conveyor", "conveyor", ROOT))


@cache
def suite_modules() -> tuple[Source, ...]:
    every = read_tree(ROOT / "tests", "tests", ROOT)
    return tuple(s for s in every if not s.path.startswith("tests/fixtures/"))


def fail_on(findings: list[Finding], rule: str) -> None:
    if findings:
        lines = "\n".join(str(f) for f in findings)
        pytest.fail(f"{len(findings)} {rule}:\n{lines}", pytrace=False)


def test_no_class_has_more_than_40_methods_counting_its_bases() -> None:
    fail_on(oversized_classes(project()), f"classes over {MAX_METHODS} methods")


def test_no_function_is_declared_under_type_checking() -> None:
    fail_on(type_checking_stubs(project()), "stubs under `if TYPE_CHECKING:`")


def test_no_test_module_imports_another_test_modules_private_names() -> None:
    fail_on(private_test_imports(suite_modules()), "private imports between test modules")


def test_ci_and_the_engine_share_no_run_of_six_lines() -> None:
    ci = [s for s in project() if s.module.startswith("conveyor.ci.")]
    engine = [
        s
        for s in project()
        if s.module.startswith(("conveyor.workflow.plan", "conveyor.workflow.run"))
    ]
    fail_on(shared_runs(ci, engine), "a run shared between ci/ and the engine")


# --- the checker on synthetic modules ------------------------------------------------------


def src(module: str, text: str, *, package: bool = False) -> Source:
    path = module.replace(".", "/") + ("/__init__.py" if package else ".py")
    return Source(module=module, path=path, text=dedent(text), is_package=package)


def methods(*names: str) -> str:
    return "".join(f"    def {n}(self) -> None: ...\n" for n in names)


MIXINS = src("app.parts", "class A:\n" + methods("a1", "a2", "a3") + "class B:\n" + methods("b1"))


def test_a_class_is_counted_with_its_in_project_bases() -> None:
    host = src(
        "app.host",
        "from app.parts import A, B\n\n\nclass Host(A, B):\n" + methods("h1", "a1"),
    )
    [finding] = oversized_classes([MIXINS, host], limit=4)
    assert str(finding).startswith("app/host.py:4: class Host has 5 methods (with its bases A, B)")
    assert "split it into collaborators" in finding.message
    assert oversized_classes([MIXINS, host], limit=5) == []


def test_the_default_limit_is_40_methods() -> None:
    at_limit = src("app.big", "class Big:\n" + methods(*(f"m{i}" for i in range(40))))
    over = src("app.big", "class Big:\n" + methods(*(f"m{i}" for i in range(41))))
    assert oversized_classes([at_limit]) == []
    assert [f.line for f in oversized_classes([over])] == [1]


@pytest.mark.parametrize(
    "header",
    [
        "from .parts import A, B\n",  # relative
        "from app import A, B\n",  # re-exported by the package
        "from app import parts\nA, B = parts.A, parts.B\n",  # not classes: resolved by name
    ],
)
def test_bases_resolve_through_relative_imports_and_re_exports(header: str) -> None:
    package = src("app", "from app.parts import A, B\n", package=True)
    host = src("app.host", header + "\n\nclass Host(A, B):\n" + methods("h1"))
    [finding] = oversized_classes([package, MIXINS, host], limit=4)
    assert "class Host has 5 methods" in finding.message


def test_an_attribute_base_resolves_through_the_imported_module() -> None:
    host = src("app.host", "from app import parts\n\n\nclass Host(parts.A):\n" + methods("h1"))
    [finding] = oversized_classes([MIXINS, host], limit=3)
    assert "class Host has 4 methods (with its bases A)" in finding.message


def test_bases_from_outside_the_project_do_not_count() -> None:
    host = src(
        "app.host",
        "from other.lib import A\n\n\nclass Host(A, Exception):\n" + methods("h1"),
    )
    findings = oversized_classes([MIXINS, host], limit=1)
    assert [f.path for f in findings] == ["app/parts.py"]  # A itself, not Host


STUBS = """
    from typing import TYPE_CHECKING
    import typing

    if TYPE_CHECKING:
        from app.host import Host

        def helper() -> None: ...


    class Mixin:
        if typing.TYPE_CHECKING:
            async def _finish(self) -> None: ...
        else:
            def runtime_only(self) -> None: ...

        def real(self) -> None: ...
"""


def test_functions_under_type_checking_are_stubs() -> None:
    findings = type_checking_stubs([src("app.mixin", STUBS)])
    assert [(f.path, f.line) for f in findings] == [("app/mixin.py", 8), ("app/mixin.py", 13)]
    assert "`def helper` is declared under `if TYPE_CHECKING:`" in findings[0].message
    assert "`def _finish`" in findings[1].message
    assert "pass the collaborator it stands for explicitly" in findings[1].message


def test_imports_under_type_checking_are_not_stubs() -> None:
    text = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from app.x import Y\n"
    assert type_checking_stubs([src("app.typed", text)]) == []


def test_private_names_imported_from_another_test_module_are_found() -> None:
    module = src(
        "tests.b.test_two",
        """
        from conveyor.app import _private_in_src
        from tests.a.conftest import helper
        from tests.a.test_one import _start, public
        from .test_three import _poll
        from tests.a.helpers import _shared
        """,
    )
    findings = private_test_imports([module])
    assert [(f.line, f.message.split("`")[1]) for f in findings] == [
        (4, "_start"),
        (5, "_poll"),
        (6, "_shared"),
    ]
    assert str(findings[0]).startswith("tests/b/test_two.py:4: imports the private `_start`")
    assert "move it to tests/a/conftest.py" in findings[0].message
    assert "from tests.b.test_three" in findings[1].message
    assert "tests.a.helpers is a helper module" in findings[2].message


def test_public_imports_between_test_modules_pass() -> None:
    module = src("tests.b.test_two", "from tests.a.conftest import helper, World\n")
    assert private_test_imports([module]) == []


def test_a_run_of_six_meaningful_lines_in_both_parts_is_found() -> None:
    body = "".join(f"    value_{i} = compute({i})\n" for i in range(6))
    left = src("pkg.ci.plan", f"def f() -> None:\n{body}")
    right = src("pkg.engine.plan", f"def g() -> None:\n    # the same rule\n\n{body}")
    [finding] = shared_runs([left], [right])
    assert (finding.path, finding.line) == (left.path, 2)
    assert "pkg/engine/plan.py:4" in finding.message


def test_five_shared_lines_and_shared_punctuation_pass() -> None:
    five = "".join(f"    value_{i} = compute({i})\n" for i in range(5))
    brackets = "    call(\n" + "        x,\n" * 8 + "    )\n"
    left = src("pkg.ci.a", f"def f() -> None:\n{five}    left()\n{brackets}")
    right = src("pkg.engine.b", f"def g() -> None:\n{five}    right()\n{brackets}")
    assert shared_runs([left], [right]) == []
