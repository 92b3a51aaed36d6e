"""Local base images: no registry on the internet is reachable here, so images start from
`FROM scratch` plus Debian's static busybox (`busybox-static`, about 2 MB), which has a
shell, coreutils and an HTTP server (`httpd`).

Called by `conveyor up`, the container runner's default image and the tests' fixtures.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from conveyor.clients.errors import PodmanUnavailable
from conveyor.clients.podman import Podman

BUSYBOX_IMAGE = "localhost/conveyor/busybox:latest"
_BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")

_CONTAINERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/root", "/etc", "/var/www"]
RUN ["/bin/sh", "-c", "echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["/bin/sh"]
"""


def static_busybox() -> Path:
    """The host's statically linked busybox, or `PodmanUnavailable` naming the package."""
    for candidate in _BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.exists() and b"ld-linux" not in path.read_bytes()[:4096]:
            return path
    raise PodmanUnavailable("no static busybox found; install Debian's busybox-static")


async def ensure_busybox_image(podman: Podman, tag: str = BUSYBOX_IMAGE) -> str:
    """Build the busybox base image unless it exists; returns its tag."""
    found = await podman.run("image", "exists", "--", tag, check=False)
    if found.returncode == 0:
        return tag
    with tempfile.TemporaryDirectory(prefix="conveyor-busybox-") as tmp:
        context = Path(tmp)
        shutil.copy2(static_busybox(), context / "busybox")
        (context / "Containerfile").write_text(_CONTAINERFILE)
        await podman.run("build", "-q", "-t", tag, "-f", str(context / "Containerfile"), "--", tmp)
    return tag
