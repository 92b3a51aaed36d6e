"""Built-in `actions/cache`: restore now, save in a post step at the job's end.

As the real action (`post-if: success()`): the post step saves only when the job
succeeded and the primary key was not an exact hit (caches are immutable). Inputs and
outputs: those of `cache/restore`, plus `save-always` (deprecated upstream; honoured).
"""

from __future__ import annotations

from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.builtins.cache_restore import restore
from conveyor.workflow.run.actions.builtins.cache_save import save
from conveyor.workflow.run.scope import PostStep


async def run(call: BuiltinCall) -> dict[str, str]:
    outputs, exact = await restore(call)
    if not exact and not call.flag("lookup-only"):
        key = outputs["cache-primary-key"]

        async def post() -> bool:
            return save(call, key)

        condition = "always()" if call.flag("save-always") else "success()"
        name = f"Post {call.step.name}" if isinstance(call.step.name, str) else "Post Cache"
        call.posts.append(PostStep(name=name, condition=condition, run=post))
    return outputs
