"""One family of errors a user can fix, printed as one line; anything else is a bug with a traceback."""

from __future__ import annotations

import pytest

from autograder import cli
from autograder.course.alternatives import AlternativesError
from autograder.course.config import ConfigError, GradebookError, MalformedNotebook
from autograder.course.curriculum import ManifestError, UnknownName
from autograder.course.exchange import ExchangeError
from autograder.course.intake import RefusedNotebook
from autograder.course.workspace import WorkspaceError
from autograder.errors import AutograderError, NotFound
from autograder.grading.grade import GradingFailed, SubmissionError
from autograder.grading.reference import SolutionRunError
from autograder.hints import HintError
from autograder.run.sandbox import SandboxUnavailable
from autograder.views.leaderboard import LeaderboardError

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
