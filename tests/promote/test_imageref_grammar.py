"""One image-reference grammar (issue 12): promotion and the Podman target read the same
strings as references, so a reference promote writes is one the target accepts."""

from __future__ import annotations

import pytest

from conveyor.core.ociref import reference_problem
from conveyor.promote.imageref import check_digest, try_parse

DIGEST = "a" * 64


@pytest.mark.parametrize(
    "text",
    [
        "nginx",
        "localhost:5000/team/app:v1",
        f"registry.example.com/app@sha256:{DIGEST}",
        f"app:v1@sha256:{DIGEST}",
        "a.-b/app:1",  # a registry label may not start with '-'
        "-a.example/app",
        "a" * 256,  # the name is at most 255 characters
        f"app@SHA256:{DIGEST}",  # an algorithm may hold upper case letters
        f"app@sha256+b64u:{DIGEST}",
        "busybox:é",  # tags are ASCII
        "Busybox",
        "--privileged",
    ],
)
def test_promote_and_the_podman_target_agree_on_what_is_a_reference(text: str) -> None:
    assert (try_parse(text) is not None) == (reference_problem(text) == "")


def test_promote_accepts_the_digest_algorithms_the_grammar_allows() -> None:
    assert check_digest(f"SHA256:{DIGEST}") == f"SHA256:{DIGEST}"
