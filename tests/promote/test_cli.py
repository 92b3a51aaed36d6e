"""`conveyor promote`, `promote history` and `conveyor affected` through click's runner:
exit codes, one-line messages, and the repo untouched on bad input."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conveyor.app import cli
from conveyor.app.cmd_affected import affected
from conveyor.app.cmd_promote import promote
from conveyor.server.githttp import GitHttpServer
from tests.gitutil import commit, git, init
from tests.promote.conftest import default_files, refs, seed, show


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "srv").mkdir()
    return seed(tmp_path / "srv", default_files())


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(promote, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def base(repo: Path, tmp_path: Path) -> list[str]:
    return ["--repo", str(repo), "--cache-dir", str(tmp_path / "cache")]


def test_promote_json_then_noop_then_history(repo: Path, tmp_path: Path) -> None:
    code, out, _ = run(
        *base(repo, tmp_path),
        "--image",
        "ghcr.io/acme/svc1:1.5.0",
        "--env",
        "staging",
        "--json",
        "--source-commit",
        "c" * 40,
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "promoted" and doc["changes"][0]["new"] == "ghcr.io/acme/svc1:1.5.0"
    assert "svc1:1.5.0" in show(repo, "main:envs/staging/svc1.yaml")
    code, out, _ = run(
        *base(repo, tmp_path), "--image", "ghcr.io/acme/svc1", "--tag", "1.5.0", "--env", "staging"
    )
    assert code == 0 and out.startswith("noop: already at ghcr.io/acme/svc1:1.5.0")
    code, out, _ = run("history", *base(repo, tmp_path), "--env", "staging", "--json")
    entries = json.loads(out)
    assert code == 0 and [e["image"] for e in entries] == ["ghcr.io/acme/svc1:1.5.0"]
    assert entries[0]["source_commit"] == "c" * 40


def test_from_to_copies_exact_reference(repo: Path, tmp_path: Path) -> None:
    digest = "sha256:" + "12" * 32
    assert (
        run(*base(repo, tmp_path), "--image", f"ghcr.io/acme/svc2:3.0.0@{digest}", "--env", "dev")[
            0
        ]
        == 0
    )
    code, out, _ = run(
        *base(repo, tmp_path), "--from", "dev", "--to", "staging", "--image", "ghcr.io/acme/svc2"
    )
    assert code == 0, out
    assert f"ghcr.io/acme/svc2:3.0.0@{digest}" in show(repo, "main:envs/staging/svc2.yaml")
    before = refs(repo)
    code, _, err = run(*base(repo, tmp_path), "--from", "dev", "--to", "prod")
    assert code == 2 and "stage order is dev → staging → prod" in err
    assert refs(repo) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--image", "ghcr.io/acme/svc0:2", "--env", "qa"], "unknown environment 'qa'"),
        (["--image", "ghcr.io/acme/svc0:2", "--path", "envs/none.yaml"], "no such file"),
        (["--image", "ghcr.io/acme/nothere:2", "--env", "dev"], "is not used in envs/dev"),
        (["--image", "ghcr.io/Acme/svc0:2", "--env", "dev"], "not an image reference"),
        (["--image", "ghcr.io/acme/svc0", "--env", "dev"], "no version to promote"),
        (
            ["--image", "ghcr.io/acme/svc0", "--digest", "sha256:12", "--env", "dev"],
            "is not a digest",
        ),
        (["--image", "ghcr.io/acme/svc0:2"], "say where to promote"),
        (["--image", "ghcr.io/acme/svc0:2", "--env", "dev", "--path", "x"], "exclude each other"),
        (["--image", "ghcr.io/acme/svc0:2", "--env", "prod"], "requires approval"),
        (["--image", "ghcr.io/acme/svc0:2", "--env", "dev", "--author", "bob"], "Name <email>"),
        (["--set", "envs/dev/svc0.yaml:.spec.nope=1"], "path .spec.nope not found"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_touches_nothing(
    repo: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    before = refs(repo)
    code, out, err = run(*base(repo, tmp_path), *args)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert out == ""
    assert refs(repo) == before


def test_unreachable_remote_exits_2(tmp_path: Path) -> None:
    code, _, err = run(
        "--repo",
        "http://127.0.0.1:9/x.git",
        "--cache-dir",
        str(tmp_path),
        "--image",
        "a/b:1",
        "--env",
        "dev",
    )
    assert code == 2 and "check --repo" in err


def test_set_expression_edits_one_value(repo: Path, tmp_path: Path) -> None:
    code, out, _ = run(
        *base(repo, tmp_path),
        "--set",
        "envs/dev/svc0.yaml:.spec.template.spec.containers[0].name=web",
    )
    assert code == 0, out
    assert "      - name: web\n" in show(repo, "main:envs/dev/svc0.yaml")


def test_token_never_printed(repo: Path, tmp_path: Path) -> None:
    url = f"https://user:tok-SECRET-1@127.0.0.1:9/{repo.name}"
    code, out, err = run(
        "--repo",
        url,
        "--cache-dir",
        str(tmp_path),
        "--image",
        "a/b:1",
        "--env",
        "dev",
        "--token",
        "tok-SECRET-2",
    )
    assert code == 2
    assert "tok-SECRET" not in out + err


def test_affected_matrix_and_github_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "mono"
    init(work)
    (work / "conveyor-projects.yaml").write_text(
        "projects:\n  web: {paths: [web], depends_on: [lib]}\n  lib: [lib]\n  api: [api]\n"
    )
    for path in ("web/a.txt", "lib/a.txt", "api/a.txt"):
        (work / path).parent.mkdir(exist_ok=True)
        (work / path).write_text("1\n")
    commit(work, "one")
    commit(work, "two", {"lib/a.txt": "2\n"})
    runner = CliRunner()
    result = runner.invoke(affected, ["--base", "HEAD~1", "--repo", str(work)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "include": [{"project": "web", "path": "web"}, {"project": "lib", "path": "lib"}]
    }
    output = tmp_path / "gh-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    result = runner.invoke(
        affected, ["--base", "HEAD~1", "--repo", str(work), "--format", "github-output"]
    )
    assert result.exit_code == 0
    assert output.read_text().splitlines()[1:] == ['projects=["web","lib"]', "any=true"]
    result = runner.invoke(affected, ["--base", "nope", "--repo", str(work)])
    assert result.exit_code == 2 and "cannot diff nope..HEAD" in result.stderr


def test_githttp_push_needs_token(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    seed(tmp_path / "srv", {"a.txt": "1\n"})
    pushed: list[str] = []
    with GitHttpServer(tmp_path / "srv", tokens={"tk": "ci"}, on_push=pushed.append) as srv:
        work = tmp_path / "w"
        git(tmp_path, "clone", "-q", f"{srv.url}/cfg.git", str(work))  # anonymous read works
        commit(work, "x", {"a.txt": "2\n"})
        denied = subprocess.run(
            ["git", "push", "-q", "origin", "main"],
            cwd=work,
            check=False,
            capture_output=True,
            text=True,
            env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin"},
        )
        assert denied.returncode != 0
        git(work, "-c", "http.extraHeader=Authorization: Bearer tk", "push", "-q", "origin", "main")
        assert pushed == ["/cfg.git"]
        assert srv.user_for("Basic " + base64.b64encode(b"x:tk").decode()) == "ci"
        assert srv.user_for("Bearer nope") is None


def test_lazy_registration_in_the_main_cli(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the lead's LAZY_COMMANDS entries will do: `conveyor promote|affected …`."""
    monkeypatch.setitem(
        cli.LAZY_COMMANDS, "promote", ("conveyor.app.cmd_promote", "promote", "Promote an image.")
    )
    monkeypatch.setitem(
        cli.LAZY_COMMANDS,
        "affected",
        ("conveyor.app.cmd_affected", "affected", "Affected projects."),
    )
    code = cli.run(  # the console-script wrapper exits with this
        [
            "promote",
            *base(repo, tmp_path),
            "--image",
            "ghcr.io/acme/svc0:4.0.0",
            "--env",
            "nope",
        ]
    )
    assert code == 2
    assert "unknown environment 'nope'" in capsys.readouterr().err
    cli.run(
        ["promote", *base(repo, tmp_path), "--image", "ghcr.io/acme/svc0:4.0.0", "--env", "dev"]
    )
    assert "promoted: pushed" in capsys.readouterr().out
    cli.run(["promote", "history", *base(repo, tmp_path)])
    assert "ghcr.io/acme/svc0:4.0.0" in capsys.readouterr().out


def test_dry_run_prints_the_diff_and_pushes_nothing(repo: Path, tmp_path: Path) -> None:
    before = refs(repo)
    code, out, _ = run(
        *base(repo, tmp_path), "--image", "ghcr.io/acme/svc0:9.9.9", "--env", "dev", "--dry-run"
    )
    assert code == 0 and out.startswith("dry-run: dry run: nothing pushed")
    assert "-        image: ghcr.io/acme/svc0:1.0.0   # keep this comment\n" in out
    assert "+        image: ghcr.io/acme/svc0:9.9.9   # keep this comment\n" in out
    assert refs(repo) == before
