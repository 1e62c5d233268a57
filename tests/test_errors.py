"""One family of errors a user can fix, printed as one line; anything else is a bug with a traceback."""

from __future__ import annotations

import pytest

from autograder import cli
from autograder.alternatives import AlternativesError
from autograder.config import ConfigError, GradebookError, MalformedNotebook
from autograder.curriculum import ManifestError, UnknownName
from autograder.errors import AutograderError, NotFound
from autograder.exchange import ExchangeError
from autograder.grade import GradingFailed, SubmissionError
from autograder.hints import HintError
from autograder.intake import RefusedNotebook
from autograder.leaderboard import LeaderboardError
from autograder.reference import SolutionRunError
from autograder.sandbox import SandboxUnavailable
from autograder.workspace import WorkspaceError

USER_ERRORS = [
    AlternativesError,
    ConfigError,
    GradebookError,
    MalformedNotebook,
    ManifestError,
    UnknownName,
    ExchangeError,
    SubmissionError,
    GradingFailed,
    HintError,
    RefusedNotebook,
    LeaderboardError,
    SolutionRunError,
    SandboxUnavailable,
    WorkspaceError,
    NotFound,
    cli.CliError,
]


@pytest.mark.parametrize("error", USER_ERRORS, ids=lambda e: e.__name__)
def test_every_error_a_user_can_fix_is_an_autograder_error(error):
    assert issubclass(error, AutograderError)


def fail_with(monkeypatch, exc: BaseException) -> None:
    def command(args):
        raise exc

    monkeypatch.setattr(cli, "cmd_progress", command)


def test_a_user_error_is_one_line_and_exit_2(monkeypatch, capsys):
    fail_with(monkeypatch, WorkspaceError("ada has no workspace for tiny; start it with: autograder start"))
    assert cli.main(["progress", "--learner", "ada"]) == 2
    err = capsys.readouterr().err
    assert err == "autograder: error: ada has no workspace for tiny; start it with: autograder start\n"


@pytest.mark.parametrize(
    "bug", [KeyError("grade_id"), LookupError("lost"), ValueError("bad"), TypeError("t")]
)
def test_a_bug_is_not_dressed_as_a_user_error(monkeypatch, bug):
    fail_with(monkeypatch, bug)
    with pytest.raises(type(bug)):
        cli.main(["progress", "--learner", "ada"])
