"""`conveyor promote history`: promotions of an environment/image, newest first, read
back from the `Conveyor-*` trailers of the config repo's commits (one `git log`).

Pure parsing here (`parse_log`); `service.history` runs the log. Entries carry the commit,
its date, the image reference, environment, source commit, run and build number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from conveyor.promote import trailers
from conveyor.promote.imageref import ImageRef, same_repository, try_parse

LOG_FORMAT = "%H%x00%cI%x00%an <%ae>%x00%B%x1e"


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    commit: str
    date: str
    author: str
    title: str
    image: str
    environment: str | None
    source_commit: str | None
    run: str | None
    build_number: str | None

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)


def parse_log(out: str, *, env: str | None = None, image: ImageRef | None = None) -> list[Entry]:
    entries: list[Entry] = []
    for record in out.split("\x1e"):
        fields = record.strip("\n").split("\0")
        if len(fields) != 4:
            continue
        sha, date, author, body = fields
        found = dict(reversed(trailers.parse(body)))  # first occurrence wins
        images = trailers.values(body, trailers.IMAGE)
        for value in images or []:
            ref = try_parse(value)
            if image is not None and (ref is None or not same_repository(ref, image)):
                continue
            environment = found.get(trailers.ENVIRONMENT)
            if env is not None and environment != env:
                continue
            entries.append(
                Entry(
                    commit=sha,
                    date=date,
                    author=author,
                    title=body.splitlines()[0] if body else "",
                    image=value,
                    environment=environment,
                    source_commit=found.get(trailers.SOURCE_COMMIT),
                    run=found.get(trailers.RUN),
                    build_number=found.get(trailers.BUILD_NUMBER),
                )
            )
    return entries
