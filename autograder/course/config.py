"""Settings read from the course's ``jupyter_config.py``, the one file nbgrader also reads."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .. import layout
from ..errors import AutograderError
from ..layout import CONFIG_FILE
from ..protocol import STATE_ENV
from ..run.sandbox import Limits, Sandbox, SandboxUnavailable, probe, read_limits


class ConfigError(AutograderError, ValueError):
    """The course directory or its configuration is not usable."""


class GradebookError(AutograderError, RuntimeError):
    """nbgrader's gradebook refused an operation or cannot be opened; the message says why."""


class MalformedNotebook(AutograderError, ValueError):
    """A notebook file that cannot be graded as it is (not notebook JSON, a link, too large...).

    The message names the file, what is wrong and the fix, and never quotes the file: a
    learner may have pointed the grader at anything (nbformat's "not JSON" error quotes a
    file's first bytes, and a schema error the offending value), so only an exception's
    type and position are shown. ``cause`` is an exception, or the whole reason as text.
    """

    FIX = "restore it from the release or re-download it, then submit again"

    def __init__(self, path: Path, cause: BaseException | str, fix: str = FIX) -> None:
        self.path = path
        reason = cause if isinstance(cause, str) else f"not a readable notebook ({self.describe(cause)})"
        super().__init__(f"{path}: {reason}; {fix}")

    @staticmethod
    def describe(cause: BaseException) -> str:
        """What went wrong, from the exception's type and position only, never from its text."""
        from json import JSONDecodeError

        seen: BaseException | None = cause
        for _ in range(8):  # the chain nbformat builds is two deep
            if seen is None:
                break
            if isinstance(seen, JSONDecodeError):  # its ``msg`` is Python's own fixed wording
                return f"not JSON: {seen.msg} at line {seen.lineno} column {seen.colno}"
            if isinstance(seen, UnicodeDecodeError):
                return f"not UTF-8 text: byte {seen.start} cannot be decoded"
            seen = seen.__cause__ or seen.__context__
        return type(cause).__name__


@dataclass(frozen=True)
class Settings:
    """Where the course lives and the limits a grading run works within."""

    root: Path
    state_dir: Path
    db_url: str
    course_id: str
    seeds: int
    check_seeds: int
    max_notebook_seconds: float
    config: Config
    limits: Limits = field(default_factory=Limits)
    warm_kernels: bool = True
    preload: tuple[str, ...] = ()
    workers: int = 0
    """Notebook runs at once; 0 means one more than the CPU cores this process may use."""
    submission_timeout: float = 900.0
    """Wall-clock seconds all runs of one submission may take together (every notebook, every seed)."""
    max_notebook_mb: float = 20.0
    """A submitted notebook larger than this is refused before it is parsed."""

    @property
    def parallel_runs(self) -> int:
        """Why one more than the cores: a kernel spends part of each cell waiting (on its own
        output thread, on the grader's reply), and a third run on two cores halved the time
        the cores stood idle while grading a class."""
        return self.workers if self.workers > 0 else len(os.sched_getaffinity(0)) + 1

    @property
    def submitted_dir(self) -> Path:
        return self.state_dir / "submitted"

    @property
    def autograded_dir(self) -> Path:
        return self.state_dir / "autograded"

    @property
    def feedback_dir(self) -> Path:
        return self.state_dir / "feedback"

    @property
    def evidence_dir(self) -> Path:
        return self.state_dir / "evidence"

    @property
    def references_dir(self) -> Path:
        return self.state_dir / "references"

    @property
    def workspaces_dir(self) -> Path:
        return self.state_dir / "workspaces"

    @property
    def archive_dir(self) -> Path:
        return self.state_dir / "archive"

    def source_notebook(self, assignment: str, notebook: str) -> Path:
        """The solution notebook of ``assignment``: what releases and references come from."""
        return layout.source_dir(self.root, assignment) / f"{notebook}.ipynb"


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` that holds ``jupyter_config.py``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() and (folder / layout.RELEASE).is_dir():
            return folder
    raise ConfigError(
        f"no course directory at or above {here}: run autograder inside the repository "
        f"(the folder with {CONFIG_FILE} and curriculum/), or pass --course DIR"
    )


def load_settings(root: Path | None = None, state_dir: Path | None = None) -> Settings:
    """Read ``jupyter_config.py``; ``state_dir`` overrides where working state lives."""
    root = find_course_root(root)
    saved = os.environ.get(STATE_ENV)
    if state_dir is not None:
        os.environ[STATE_ENV] = str(Path(state_dir).resolve())
    try:
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    finally:
        if saved is None:
            os.environ.pop(STATE_ENV, None)
        else:
            os.environ[STATE_ENV] = saved
    ours = config.get("Autograder", Config())
    course = config.get("CourseDirectory", Config())
    state = Path(ours.get("state_dir", root / ".autograder")).resolve()
    state.mkdir(parents=True, exist_ok=True)  # SQLite creates the gradebook, not its folder
    return Settings(
        root=root,
        state_dir=state,
        db_url=str(course.get("db_url", f"sqlite:///{state / 'gradebook.db'}")),
        course_id=str(course.get("course_id", "")),
        seeds=int(ours.get("seeds", 2)),
        check_seeds=int(ours.get("check_seeds", 3)),
        max_notebook_seconds=float(ours.get("max_notebook_seconds", 60)),
        config=config,
        limits=read_limits(ours),
        warm_kernels=bool(ours.get("warm_kernels", True)),
        preload=tuple(str(m) for m in ours.get("preload", ())),
        workers=int(ours.get("workers", 0)),
        submission_timeout=float(ours.get("submission_timeout", Settings.submission_timeout)),
        max_notebook_mb=float(ours.get("max_notebook_mb", Settings.max_notebook_mb)),
    )


_probed: dict[tuple[object, ...], Sandbox] = {}


def make_sandbox(settings: Settings, *, unsafe_no_sandbox: bool = False) -> Sandbox | None:
    """The sandbox learner kernels run in, or None when the instructor explicitly opts out.

    Refuses (``SandboxUnavailable``) on a machine that cannot sandbox, naming the fix and
    the explicit opt-out, rather than silently running learner code unconfined.
    """
    if unsafe_no_sandbox:
        return None
    key = (settings.root, settings.state_dir, settings.warm_kernels, settings.preload, settings.limits)
    if key not in _probed:
        sandbox = Sandbox.for_course(
            settings.limits,
            settings.root,
            settings.state_dir,
            warm=settings.warm_kernels,
            preload=settings.preload,
        )
        try:
            probe(sandbox)
        except SandboxUnavailable as exc:
            raise SandboxUnavailable(
                f"cannot sandbox learner code here: {exc}. Fix that, or pass --unsafe-no-sandbox to run "
                "learner notebooks with the grader's own rights (never for untrusted work)"
            ) from None
        _probed[key] = sandbox
    return _probed[key]
