"""The file protocol between a runner agent and a job container it cannot exec into.

In a Kubernetes runner pod (`conveyor.ci.kubepool_pods`) the job's `container:` is another
container of the pod; the agent has no container runtime and no API to exec into it. The two
share a control directory (an emptyDir mounted in both; the job's work directory is a second
one, mounted at the same path in both, so paths mean the same on both sides). The job
container's command is `loop_command(control)`: a POSIX `sh` loop (any image with /bin/sh,
which GitHub requires of job containers) that:

- writes `ready` when it starts, holding `bash` when the image has bash, else `sh` (the
  default shell of `run:` steps falls back to sh, as on GitHub);
- claims each `<id>.req` (renames it `<id>.sh`) and runs it in the background with stdin
  from /dev/null and stdout+stderr to `<id>.out`, recording the runner subshell's pid in
  `<id>.pid`; when it ends, writes its exit code to `<id>.rc` (written aside, then renamed:
  the agent never reads half a code);
- on `<id>.kill` (holding `TERM` or `KILL`) signals every process below the request's
  subshell (found through /proc's parent links: a container without a terminal has no job
  control, so no process group per request), so the subshell records 128 + the signal;
- on `stop` kills what still runs, writes `stopped` and exits (the container ends, and the
  pod with it).

`request_script` is what the agent writes as `<id>.req`: `cd` to the step's directory, then
`exec env -i` with exactly the step's variables and the argv, every word single-quoted so
newlines, quotes and `=` survive. Used by `conveyor.runners.sibling` (the agent side) and by
`conveyor.ci.kubepool_pods` (the pod side). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

#: Where the pod mounts the control directory, in the agent container and the job container.
CONTROL_DIR = "/tmp/conveyor-sibling"  # an emptyDir of the pod, not the node's /tmp

READY = "ready"
STOP = "stop"
STOPPED = "stopped"

LOOP = r"""
C="$1"
mkdir -p "$C" || exit 1
rm -f "$C/stop" "$C/stopped"
below() {
  found=" $1 "; more=1
  while [ "$more" = 1 ]; do
    more=0
    for s in /proc/[0-9]*/stat; do
      { read -r line < "$s"; } 2>/dev/null || continue
      pid=${line%% *}; rest=${line##*) }; rest=${rest#* }; ppid=${rest%% *}
      case "$found" in *" $pid "*) continue ;; esac
      case "$found" in *" $ppid "*) found="$found$pid "; more=1 ;; esac
    done
  done
  for pid in $found; do [ "$pid" = "$1" ] || echo "$pid"; done
}
end() {
  { read -r root < "$1"; } 2>/dev/null || return 0
  for pid in $(below "$root"); do kill -"$2" "$pid" 2>/dev/null; done
}
if command -v bash > /dev/null 2>&1; then shell=bash; else shell=sh; fi
echo "$shell" > "$C/ready.tmp" && mv -f "$C/ready.tmp" "$C/ready"
while :; do
  if [ -e "$C/stop" ]; then
    for f in "$C"/*.pid; do [ -e "$f" ] && end "$f" KILL; done
    : > "$C/stopped"
    exit 0
  fi
  for r in "$C"/*.req; do
    [ -e "$r" ] || continue
    id=${r%.req}; id=${id##*/}
    mv -f "$r" "$C/$id.sh" || continue
    (
      sh "$C/$id.sh" > "$C/$id.out" 2>&1 < /dev/null
      echo "$?" > "$C/$id.rc.tmp" && mv -f "$C/$id.rc.tmp" "$C/$id.rc"
    ) &
    echo "$!" > "$C/$id.pid"
  done
  for k in "$C"/*.kill; do
    [ -e "$k" ] || continue
    id=${k%.kill}; id=${id##*/}
    sig=KILL
    { read -r sig < "$k"; } 2>/dev/null
    rm -f "$k"
    case "$sig" in TERM|KILL) ;; *) sig=KILL ;; esac
    [ -e "$C/$id.rc" ] || end "$C/$id.pid" "$sig"
  done
  sleep 0.05 2>/dev/null || sleep 1
done
"""


def loop_command(control: str | Path = CONTROL_DIR) -> list[str]:
    """The job container's command (its image's entrypoint is replaced by it)."""
    return ["/bin/sh", "-c", LOOP, "conveyor-executor", str(control)]


def quote(word: str) -> str:
    """`word` as one single-quoted shell word (a `'` becomes `'\\''`)."""
    return "'" + word.replace("'", "'\\''") + "'"


def request_script(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | str) -> str:
    """The sh script that runs `argv` in `cwd` with exactly `env` (see the module docstring).

    A directory that does not exist ends the request with 127 and the shell's message, as a
    program that cannot be found does (`env`'s own message)."""
    if not argv:
        raise ValueError("an empty argv cannot be run")
    words = ["exec", "env", "-i"]
    words += [quote(f"{name}={value}") for name, value in env.items()]
    words += [quote(arg) for arg in argv]
    return f"cd {quote(str(cwd))} || exit 127\n" + " ".join(words) + "\n"
