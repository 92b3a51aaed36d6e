"""Custom health scripts in Argo CD's Lua format, through `Checker`: what they decide,
which script applies to which kind, and how a broken, hostile or runaway script fails
(Unknown with the reason) without stopping the caller."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from conveyor.reconcile.health import Checker, HealthScript, Verdict
from conveyor.reconcile.health.lua import LuaHealth
from conveyor.reconcile.model import HealthStatus

CERT_LIKE = """
hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
      return hs
    end
    if condition.type == "Ready" and condition.status == "True" then
      hs.status = "Healthy"
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for the widget"
return hs
"""


def widget(status: dict[str, Any] | None = None, *, group: str = "example.com") -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "prod"},
        "spec": {"size": 3},
    }
    if status is not None:
        obj["status"] = status
    return obj


def checker(source: str, pattern: str = "example.com/Widget", **options: Any) -> Checker:
    return Checker([HealthScript(pattern=pattern, source=source)], **options)


def test_a_script_turns_a_custom_resource_degraded_with_its_message() -> None:
    cond = {"type": "Ready", "status": "False", "message": "quota exceeded"}
    verdict = checker(CERT_LIKE).assess(widget({"conditions": [cond]}))
    assert (verdict.status, verdict.message) == (HealthStatus.DEGRADED, "quota exceeded")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, HealthStatus.PROGRESSING),
        ({"conditions": [{"type": "Ready", "status": "True"}]}, HealthStatus.HEALTHY),
    ],
)
def test_a_script_decides_every_state(status: Any, expected: HealthStatus) -> None:
    assert checker(CERT_LIKE).assess(widget(status)).status == expected


def test_a_script_overrides_the_built_in_rule_of_its_kind() -> None:
    always = 'return {status = "Suspended", message = "held by policy"}'
    check = checker(always, pattern="apps/Deployment")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    assert check.assess(deployment).status == HealthStatus.SUSPENDED


def test_core_kinds_are_keyed_by_kind_alone() -> None:
    check = checker('return {status = "Degraded"}', pattern="ConfigMap")
    assert check.assess({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}) == (
        check.assess({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}})
    )
    assert check.assess({"apiVersion": "v1", "kind": "ConfigMap"}).status == HealthStatus.DEGRADED


def test_an_exact_key_wins_over_a_wildcard_listed_first() -> None:
    check = Checker(
        [
            HealthScript(pattern="*.example.com/*", source='return {status = "Suspended"}'),
            HealthScript(pattern="db.example.com/Widget", source='return {status = "Degraded"}'),
        ]
    )
    assert check.assess(widget(group="db.example.com")).status == HealthStatus.DEGRADED
    assert check.assess(widget(group="cache.example.com")).status == HealthStatus.SUSPENDED
    assert check.assess(widget(group="example.org")).status == HealthStatus.HEALTHY


def test_the_script_can_use_the_libraries_argo_cd_gives_it() -> None:
    source = """
    local os = require("os")
    local parts = {}
    for i, c in ipairs(obj.status.conditions) do table.insert(parts, string.upper(c.type)) end
    return {status = "Healthy", message = table.concat(parts, ",") .. " " .. type(os.time())
      .. " " .. math.max(1, obj.spec.size) .. " " .. ("x"):rep(2)}
    """
    verdict = checker(source).assess(widget({"conditions": [{"type": "a"}, {"type": "b"}]}))
    assert verdict.message == "A,B number 3 xx"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("return 3", "expect table output from Lua script, not number"),
        ('return {status = "Great"}', "Lua returned an invalid health status 'Great'"),
        ("return {}", "Lua returned an invalid health status None"),
        ('error("cannot read spec")', "example.com/Widget:1: cannot read spec"),
        ("return obj.spec.missing.field", "attempt to index field 'missing' (a nil value)"),
        ("error({})", "the script raised a table value"),
    ],
)
def test_a_failing_script_makes_the_object_unknown_with_the_reason(
    source: str, message: str
) -> None:
    verdict = checker(source).assess(widget())
    assert verdict.status == HealthStatus.UNKNOWN
    assert message in verdict.message
    assert verdict.message.startswith("example.com/Widget")


@pytest.mark.parametrize(
    "source",
    [
        'os.execute("touch {canary}")',
        'io.open("{canary}", "w")',
        'require("io").open("{canary}", "w")',
        'load("os.execute([[touch {canary}]])")()',
        'loadstring("return 1")()',
        'dofile("{canary}")',
        'getfenv(0).os.execute("touch {canary}")',
        "debug.getregistry()",
        'package.loadlib("libc.so.6", "system")',
        "string.dump(print)",
        'getmetatable("").__index.rep = nil',
        "coroutine.wrap(function() end)()",
        'python.eval("1")',
    ],
)
def test_a_script_cannot_reach_the_host(source: str, tmp_path: Path) -> None:
    canary = tmp_path / "escaped"
    verdict = checker(source.replace("{canary}", str(canary))).assess(widget())
    assert verdict.status == HealthStatus.UNKNOWN
    assert not canary.exists()


@pytest.mark.parametrize(
    "spoil",
    ["seen = true", "string.upper = nil", "table.insert = nil", "os.time = nil", "_G.x = 1"],
)
def test_what_one_run_changes_is_gone_in_the_next(spoil: str) -> None:
    source = f"""
    if seen or x or not string.upper or not table.insert or not os.time then
      return {{status = "Degraded"}}
    end
    {spoil}
    return {{status = "Healthy"}}
    """
    check = checker(source)
    assert [check.assess(widget()).status for _ in range(2)] == [HealthStatus.HEALTHY] * 2


def test_the_shared_libraries_cannot_be_changed_through_their_metatables() -> None:
    source = """
    local ok = pcall(setmetatable, string, {__index = {upper = function() return "x" end}})
    return {status = "Healthy", message = tostring(ok) .. " " .. tostring(getmetatable(string))}
    """
    assert checker(source).assess(widget()).message == "false false"


@pytest.mark.parametrize(
    "source",
    [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "local function f() return f() end return f()",
    ],
    ids=["loop", "pcall-loop", "xpcall-loop", "tail-call"],
)
def test_a_script_that_runs_for_ever_is_stopped(source: str) -> None:
    check = checker(source, timeout=0.2)
    started = time.monotonic()
    verdict = check.assess(widget())
    assert time.monotonic() - started < 1.5
    assert verdict == Verdict(
        HealthStatus.UNKNOWN, "example.com/Widget: health script timed out after 0.2s"
    )
    assert check.assess(widget()).status == HealthStatus.UNKNOWN  # and again, as bounded


def test_a_long_c_call_the_instruction_hook_cannot_interrupt_is_given_up_on() -> None:
    # pattern backtracking runs in C (about 0.7 s here): the watchdog stops waiting at 2x
    source = 'local s = string.rep("a", 600) s:find(".-.-b") return {status = "Healthy"}'
    check = checker(source, timeout=0.1)
    started = time.monotonic()
    verdict = check.assess(widget())
    assert time.monotonic() - started < 0.5
    assert verdict.message == "example.com/Widget: health script timed out after 0.1s"
    assert check.lua.resets == 2  # the runtime the abandoned call holds is never reused
    again = check.assess(widget())  # the abandoned call still burns a core: not run again
    assert again.status == HealthStatus.UNKNOWN
    assert "timed out earlier in a call that could not be interrupted" in again.message


def test_after_a_runaway_script_the_next_script_runs_normally() -> None:
    check = Checker(
        [
            HealthScript(pattern="example.com/Widget", source="while true do end"),
            HealthScript(pattern="example.com/Gadget", source='return {status = "Healthy"}'),
        ],
        timeout=0.1,
    )
    gadget = {**widget(), "kind": "Gadget"}
    assert check.assess(widget()).status == HealthStatus.UNKNOWN
    assert check.assess(gadget) == Verdict(HealthStatus.HEALTHY, "")


def test_a_script_that_allocates_without_end_fails_on_the_memory_bound() -> None:
    lua = LuaHealth(max_memory=16 * 1024 * 1024, timeout=10.0)
    source = 'local t = {} while true do t[#t + 1] = ("x"):rep(1048576) .. #t end'
    started = time.monotonic()
    verdict = lua.run(source, "example.com/Widget", widget())
    assert time.monotonic() - started < 5
    assert verdict == Verdict(HealthStatus.UNKNOWN, "example.com/Widget: not enough memory")
    assert lua.run('return {status = "Healthy"}', "w", widget()).status == HealthStatus.HEALTHY
