"""`clients.archives`: the same refusals with and without tarfile's extraction filters
(Debian 12's python3.11, which local jobs may run on, has none: issue 12)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.clients import archives


@pytest.fixture(params=["filters", "fallback"])
def interpreter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(archives, "_FILTERS", request.param == "filters")
    yield str(request.param)


def _archive(*members: tuple[str, str, bytes]) -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for kind, name, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                info.mode = 0o4755
                tar.addfile(info, io.BytesIO(payload))
            else:
                info.type = {
                    "sym": tarfile.SYMTYPE,
                    "link": tarfile.LNKTYPE,
                    "fifo": tarfile.FIFOTYPE,
                }[kind]
                info.linkname = payload.decode()
                tar.addfile(info)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


def test_plain_files_and_inner_links_are_extracted(interpreter: str, tmp_path: Path) -> None:
    tar = _archive(("file", "a/b.txt", b"hi"), ("sym", "a/c", b"b.txt"), ("file", "/d", b""))
    archives.extract_all(tar, tmp_path)
    assert (tmp_path / "d").exists()  # a leading slash is stripped
    assert (tmp_path / "a" / "c").read_text() == "hi"
    assert (tmp_path / "a" / "b.txt").stat().st_mode & 0o7000 == 0  # no set-id bits kept


@pytest.mark.parametrize(
    "member",
    [
        ("file", "../escape.txt", b"x"),
        ("sym", "out", b"../../etc"),
        ("sym", "abs", b"/etc/passwd"),
        ("link", "hard", b"../../etc/passwd"),
        ("fifo", "pipe", b""),
    ],
)
def test_members_that_leave_the_destination_are_refused(
    interpreter: str, tmp_path: Path, member: tuple[str, str, bytes]
) -> None:
    destination = tmp_path / "dest"
    destination.mkdir()
    with pytest.raises(tarfile.TarError):
        archives.extract_all(_archive(member), destination)
    assert not (tmp_path / "escape.txt").exists()
