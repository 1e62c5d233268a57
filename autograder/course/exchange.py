"""nbgrader's exchange on one machine: the folder learners fetch from and submit to.

nbgrader's default exchange is a folder every learner account writes into
(``c.Exchange.root``; ours is ``<state>/exchange``). ``setup_exchange`` gets it ready
before ``nbgrader release_assignment``:

- the exchange folder is world-writable with the sticky bit (mode 1777, as ``/tmp``):
  nbgrader needs every learner to create their submission there, and the sticky bit
  stops one learner from renaming or deleting what another, or the instructor, put
  there (nbgrader itself only asks for 0777);
- the course's folders in it are made now, as ``nbgrader release_assignment`` would make
  them, except that the inbound (where learners submit, mode 3733) also gets the sticky
  bit: no learner can rename or delete another's submission folder there, and none can
  list it. What a submission holds is protected by the exchange classes of
  ``autograder.course.exchange_plugins``: the learners' submit leaves their folder writable by
  them alone, and the instructor's collect takes a submission only for the account that
  owns all of it;
- every folder above it must be searchable by everyone, or no learner reaches it;
- when it lies inside the state folder, that folder becomes searchable but not
  listable (0711), and everything else in it (gradebook, submissions, autograded
  copies, feedback, evidence...) is closed to other users, so that the path to the
  exchange opens nothing else. The usual state folders are made now, closed, so that
  ones nbgrader or the grader create later are closed too. On a shared server, an
  exchange outside the state folder (``/srv/nbgrader/exchange``) is simpler still.

Learners' own nbgrader needs the course id, the exchange's place and our submit class:
``learner_config`` is that ``nbgrader_config.py``, for ``/etc/jupyter/`` or each
learner's ``~/.jupyter/``.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, Settings

DEFAULT_ROOT = Path("/srv/nbgrader/exchange")
"""nbgrader's own default, when ``c.Exchange.root`` is not set."""

COURSE_MODE = 0o755
"""``<root>/<course>`` and its ``outbound``: the instructor writes, everyone reads."""
INBOUND_MODE = 0o3733
"""Everyone may submit (wx), no one else lists it; set-group-id as nbgrader makes it, so
submissions get the instructor's group, plus the sticky bit: an entry can be renamed or
deleted only by its owner or the inbound's."""
SUBMIT_CLASS = "autograder.course.exchange_plugins.OwnFolderSubmit"


class ExchangeError(ConfigError):
    """The exchange cannot be made usable for learners; the message says how to fix it."""


@dataclass
class ExchangeSetup:
    root: Path
    changes: list[str] = field(default_factory=list)
    """What was created or had its permissions changed, one line each."""
    learner_config: str = ""


def exchange_root(settings: Settings) -> Path:
    exchange = settings.config.get("Exchange", {})
    return Path(str(exchange.get("root", DEFAULT_ROOT))).resolve()


def learner_config(settings: Settings) -> str:
    """The ``nbgrader_config.py`` a learner's nbgrader needs to fetch and submit."""
    exchange = settings.config.get("Exchange", {})
    includes_course = bool(exchange.get("path_includes_course", False))
    return (
        f"# nbgrader for learners of {settings.course_id!r}: where the exchange is "
        "(written by `autograder exchange-setup`)\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {settings.course_id!r}\n"
        f"c.Exchange.root = {str(exchange_root(settings))!r}\n"
        f"c.Exchange.path_includes_course = {includes_course!r}\n"
        "# submit as oneself only, into a folder no other learner can change\n"
        f"c.ExchangeFactory.submit = {SUBMIT_CLASS!r}\n"
    )


def _chmod(path: Path, mode: int, changes: list[str]) -> None:
    current = stat.S_IMODE(path.lstat().st_mode)
    if current == mode:
        return
    try:
        os.chmod(path, mode)
    except OSError as exc:
        raise ExchangeError(
            f"cannot set the permissions of {path} to {mode:o} ({exc.strerror}); "
            "run `autograder exchange-setup` as the folder's owner"
        ) from None
    changes.append(f"{path}: mode {current:o} -> {mode:o}")


def _close_state_folder(settings: Settings, root: Path, changes: list[str]) -> None:
    """Searchable state folder; nothing in it but the way to the exchange open to others."""
    from ..grading.gradebook import open_gradebook

    state = settings.state_dir.resolve()
    way = state / root.relative_to(state).parts[0]
    with open_gradebook(settings):  # a SQLite gradebook made later would be open to all
        pass
    course = settings.config.get("CourseDirectory", {})
    nbgrader_folders = [
        (settings.root / str(course[key])).resolve()
        for key in ("submitted_directory", "autograded_directory", "feedback_directory", "solution_directory")
        if key in course
    ]
    ours = [
        settings.submitted_dir,
        settings.autograded_dir,
        settings.feedback_dir,
        settings.evidence_dir,
        settings.references_dir,
        settings.workspaces_dir,
        settings.archive_dir,
        settings.state_dir / "gradebook-sources",
    ]
    for folder in [*ours, *nbgrader_folders]:
        if folder.is_relative_to(state) and folder != way and not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
            changes.append(f"{folder}: created, mode 700")
    audit = settings.state_dir / "audit.jsonl"
    if not audit.exists():
        audit.touch(mode=0o600)  # appended to later; it keeps this mode
        changes.append(f"{audit}: created, mode 600")
    _chmod(state, (stat.S_IMODE(state.stat().st_mode) & 0o700) | 0o711, changes)
    for entry in sorted(state.iterdir()):
        if entry == way or entry.is_symlink():
            continue
        mode = stat.S_IMODE(entry.lstat().st_mode)
        _chmod(entry, mode & ~0o077, changes)
    for folder in reversed(root.parents):  # any folders between the state folder and the exchange
        if folder.is_relative_to(way):
            _chmod(folder, stat.S_IMODE(folder.stat().st_mode) | 0o111, changes)


def _not_ours(folder: Path, uid: int) -> ExchangeError:
    """Whoever owns an exchange folder controls what is submitted in it: it must be us."""
    try:
        owner = pwd.getpwuid(uid).pw_name
    except KeyError:
        owner = f"uid {uid}"
    return ExchangeError(
        f"{folder} is owned by {owner}, not by the account that grades (or is a symlink): its owner "
        "could change or delete any submission in it; remove it (as root) and run "
        "`autograder exchange-setup` again as the account that grades"
    )


def _course_folders(settings: Settings, root: Path, changes: list[str]) -> None:
    """The course's outbound and inbound, made before ``release_assignment`` makes them open.

    ``nbgrader release_assignment`` keeps folders that exist (it only checks that the
    instructor owns them), so the sticky bit set here stays; an inbound it made earlier
    (mode 2733) gets it now.
    """
    course = root / settings.course_id
    folders = [(course, COURSE_MODE), (course / "outbound", COURSE_MODE), (course / "inbound", INBOUND_MODE)]
    if root.stat().st_uid not in (0, os.geteuid()):
        raise _not_ours(root, root.stat().st_uid)
    for folder, mode in folders:
        if folder.is_symlink() or (folder.exists() and folder.lstat().st_uid != os.geteuid()):
            raise _not_ours(folder, folder.lstat().st_uid)
        if not folder.is_dir():
            try:
                folder.mkdir()
            except OSError as exc:
                raise ExchangeError(
                    f"cannot create {folder} ({exc.strerror}); run `autograder exchange-setup` as the "
                    "account that grades, which must own the exchange's course folder"
                ) from None
            changes.append(f"{folder}: created")
        _chmod(folder, mode, changes)


def setup_exchange(settings: Settings, *, write_learner_config: Path | None = None) -> ExchangeSetup:
    """Make the exchange usable by every learner account and nothing else open; idempotent."""
    root = exchange_root(settings)
    result = ExchangeSetup(root)
    if not root.is_dir():
        try:
            root.mkdir(parents=True)
        except OSError as exc:
            raise ExchangeError(
                f"cannot create the exchange {root} ({exc.strerror}); create it as root "
                f"(sudo mkdir -p {root}), or set c.Exchange.root in jupyter_config.py"
            ) from None
        result.changes.append(f"{root}: created")
    _chmod(root, 0o1777, result.changes)
    _course_folders(settings, root, result.changes)
    state = settings.state_dir.resolve()
    if root != state and root.is_relative_to(state):
        _close_state_folder(settings, root, result.changes)
    closed = [p for p in root.parents if not stat.S_IMODE(p.stat().st_mode) & stat.S_IXOTH]
    if closed:
        names = ", ".join(str(p) for p in reversed(closed))
        raise ExchangeError(
            f"learners cannot reach the exchange {root}: other users may not enter {names}; "
            f"allow it (chmod o+x) or set c.Exchange.root in jupyter_config.py to a shared "
            f"folder such as {DEFAULT_ROOT}"
        )
    result.learner_config = learner_config(settings)
    if write_learner_config is not None:
        write_learner_config.parent.mkdir(parents=True, exist_ok=True)
        write_learner_config.write_text(result.learner_config)
        os.chmod(write_learner_config, 0o644)
        result.changes.append(f"{write_learner_config}: the learners' nbgrader configuration")
    return result
