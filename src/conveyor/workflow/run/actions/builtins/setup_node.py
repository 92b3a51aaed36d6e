"""Built-in `actions/setup-node`: use the host's Node.js when it matches `node-version`
(or `node-version-file`), else fail naming the version needed. Output: `node-version`;
`node` is put first on PATH for the following steps."""

from __future__ import annotations

from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.builtins.toolchain import activate, find, spec_from


async def run(call: BuiltinCall) -> dict[str, str]:
    spec = spec_from(call, "node-version", "node-version-file")
    found = find(["node", "nodejs"], spec, call.env.get("PATH"))
    if found is None:
        raise ConveyorError(
            f"Node.js {spec or '(any)'} is not installed on this host; install it "
            "(Conveyor does not download toolchains)"
        )
    binary, version = found
    activate(call, "node", binary, ["node"])
    text = "v" + ".".join(map(str, version))
    call.jr.write(f"Found in cache @ {binary} ({text})")
    return {"node-version": text, "cache-hit": "false"}
