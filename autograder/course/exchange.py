"""nbgrader's exchange on one machine: the folder learners fetch from and submit to.

nbgrader's default exchange is a folder every learner account reaches
(``c.Exchange.root``; ours is ``<state>/exchange``). ``setup_exchange`` gets it ready
before ``nbgrader release_assignment``, so that no learner can act for another:

- the exchange root is 0755, owned by root or the account that grades: learners pass
  through it but create nothing in it (nbgrader asks for 0777, where a learner could
  squat another course's id); the exchange classes of
  ``autograder.course.exchange_plugins`` do not ask to write there. Under a root that
  root owns, the course folder must be made once with ``sudo``, as the error says;
- the course's folders are made now, owned by the account that grades, as ``nbgrader
  release_assignment`` would make them: the course folder and its ``outbound`` 0755 (no
  learner renames or removes what was released), the ``feedback`` folder 0711 (a learner
  fetches their own page by its name, a hash of their submission's secret, and can
  neither list the folder nor write in it), and the inbound, where learners submit,
  3733: everyone may submit, no one lists it, the sticky bit stops a learner renaming or
  deleting another's submission folder, and set-group-id gives every submission the
  inbound's group, which the learners' submit class leaves the only one that reads it.
  That group must be the instructor's own: one another account shares (as its primary
  group or as a member) is refused, since that account could read every submission.
  The collect class takes a submission only for the account that owns all of it;
- every folder above it must be searchable by everyone, or no learner reaches it;
- when it lies inside the state folder, that folder becomes searchable but not
  listable (0711), and everything else in it (gradebook, submissions, autograded
  copies, feedback, evidence...) is closed to other users, so that the path to the
  exchange opens nothing else. The usual state folders are made now, closed, so that
  ones nbgrader or the grader create later are closed too. On a shared server, an
  exchange outside the state folder (``/srv/nbgrader/exchange``) is simpler still.

Learners' own nbgrader needs the course id, the exchange's place and our exchange
classes: ``learner_config`` is that ``nbgrader_config.py``, for ``/etc/jupyter/`` or each
learner's ``~/.jupyter/``.
"""

from __future__ import annotations

import contextlib
import grp
import importlib
import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, Settings

DEFAULT_ROOT = Path("/srv/nbgrader/exchange")
"""nbgrader's own default, when ``c.Exchange.root`` is not set."""

ROOT_MODE = 0o755
"""The exchange root: its owner makes course folders, learners only pass through."""
COURSE_MODE = 0o755
"""``<root>/<course>`` and its ``outbound``: the instructor writes, everyone reads."""
FEEDBACK_MODE = 0o711
"""``<course>/feedback``: each learner opens their own page by its name; no one else lists it."""
INBOUND_MODE = 0o3733
"""Everyone may submit (wx), no one else lists it; set-group-id as nbgrader makes it, so
submissions get the instructor's group, plus the sticky bit: an entry can be renamed or
deleted only by its owner or the inbound's."""
PLUGINS = "autograder.course.exchange_plugins"
LEARNER_CLASSES = {
    "fetch_assignment": f"{PLUGINS}.FetchAssignment",
    "submit": f"{PLUGINS}.OwnFolderSubmit",
    "list": f"{PLUGINS}.List",
    "fetch_feedback": f"{PLUGINS}.FetchFeedback",
}
"""The learners' ``c.ExchangeFactory``: every command they run, with an exchange root they cannot write."""
INSTRUCTOR_CLASSES = {
    "release_assignment": f"{PLUGINS}.ReleaseAssignment",
    "collect": f"{PLUGINS}.OwnerCheckedCollect",
    "release_feedback": f"{PLUGINS}.ReleaseFeedback",
    "list": f"{PLUGINS}.List",
}
"""The instructor's, in the course's ``jupyter_config.py``."""


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
        "# submit as oneself only, into a folder no other learner can read or change, from an\n"
        "# exchange whose root no learner writes\n"
        + "".join(f"c.ExchangeFactory.{key} = {name!r}\n" for key, name in LEARNER_CLASSES.items())
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


def _me() -> tuple[str, str]:
    """The account that grades and its primary group, by name, for the commands we suggest."""
    try:
        user = pwd.getpwuid(os.geteuid())
    except KeyError:
        return str(os.geteuid()), str(os.getegid())
    return user.pw_name, _group_name(user.pw_gid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _close_root(root: Path, changes: list[str]) -> None:
    """0755: learners pass through the root, and create nothing in it (nbgrader asks 0777)."""
    owner = root.stat().st_uid
    if owner == os.geteuid():
        _chmod(root, ROOT_MODE, changes)
    elif owner != 0:
        raise _not_ours(root, owner)
    elif (mode := stat.S_IMODE(root.stat().st_mode)) != ROOT_MODE:
        raise ExchangeError(
            f"the exchange {root} has mode {mode:o}: learners could create folders in it, such as "
            f"another course's; close it with `sudo chmod {ROOT_MODE:o} {root}`"
        )


def _make_folder(folder: Path) -> None:
    """One of the course's folders; in a root that root owns, the course folder needs ``sudo``."""
    try:
        folder.mkdir()
    except OSError as exc:
        if isinstance(exc, PermissionError) and folder.parent.stat().st_uid == 0:
            user, group = _me()
            raise ExchangeError(
                f"cannot create {folder}: root owns {folder.parent}; create the course folder once "
                f"for {user} (sudo install -d -o {user} -g {group} -m {COURSE_MODE:o} {folder}) and run "
                "`autograder exchange-setup` again"
            ) from None
        raise ExchangeError(
            f"cannot create {folder} ({exc.strerror}); run `autograder exchange-setup` as the "
            "account that grades, which must own the exchange's course folder"
        ) from None


def _course_folders(settings: Settings, root: Path, changes: list[str]) -> None:
    """The course's folders, made before ``release_assignment`` makes them open.

    ``nbgrader release_assignment`` and ``release_feedback`` keep folders that exist (they
    only check that the instructor owns them), so the modes set here stay; an inbound
    nbgrader made earlier (mode 2733) gets the sticky bit now.
    """
    course = root / settings.course_id
    folders = [
        (course, COURSE_MODE),
        (course / "outbound", COURSE_MODE),
        (course / "inbound", INBOUND_MODE),
        (course / "feedback", FEEDBACK_MODE),
    ]
    for folder, mode in folders:
        if folder.is_symlink() or (folder.exists() and folder.lstat().st_uid != os.geteuid()):
            raise _not_ours(folder, folder.lstat().st_uid)
        if not folder.is_dir():
            _make_folder(folder)
            changes.append(f"{folder}: created")
        _chmod(folder, mode, changes)
    _check_inbound_group(course / "inbound")


def _sharing(gid: int) -> list[str]:
    """The accounts, other than root and the one that grades, that are in group ``gid``."""
    me = os.geteuid()
    names = {user.pw_name for user in pwd.getpwall() if user.pw_gid == gid and user.pw_uid not in (0, me)}
    with contextlib.suppress(KeyError):
        names |= set(grp.getgrgid(gid).gr_mem)
    return sorted(names - {_me()[0], "root"})


def _check_inbound_group(inbound: Path) -> None:
    """The inbound's group reads every submission: it must be the instructor's alone."""
    gid = inbound.stat().st_gid
    group = _group_name(gid)
    user, primary = _me()
    if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise ExchangeError(
            f"{inbound} has group {group}, which {user} is not in: collect could not read what "
            f"learners submit; run `chgrp {primary} {inbound}` and `autograder exchange-setup` again"
        )
    others = _sharing(gid)
    if others:
        own = f"{user}-grading"
        raise ExchangeError(
            f"{inbound} has group {group}, which {', '.join(others)} also share: they could read every "
            f"submission; give {user} a group of its own (sudo groupadd {own} && sudo usermod "
            f"-aG {own} {user} && sudo chgrp {own} {inbound}), log in again, and run "
            "`autograder exchange-setup` again"
        )


def _class(name: str) -> object:
    module, _, attribute = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError):
        return None


def _is_or_extends(configured: object, ours: str) -> bool:
    """The configured class is ours, under any import path, or a subclass of it."""
    if configured == ours:
        return True
    found, wanted = _class(str(configured)), _class(ours)
    return isinstance(found, type) and isinstance(wanted, type) and issubclass(found, wanted)


def _check_instructor_classes(settings: Settings) -> None:
    """nbgrader's own classes reopen the root to every learner and believe submissions' names."""
    factory = settings.config.get("ExchangeFactory", {})
    missing = [
        f"c.ExchangeFactory.{key} = {name!r}"
        for key, name in INSTRUCTOR_CLASSES.items()
        if not _is_or_extends(factory.get(key), name)
    ]
    if missing:
        raise ExchangeError(
            f"the course's jupyter_config.py lacks our exchange classes (nbgrader's own reopen the "
            f"exchange to every learner): add {'; '.join(missing)}"
        )


def setup_exchange(settings: Settings, *, write_learner_config: Path | None = None) -> ExchangeSetup:
    """Make the exchange usable by every learner account and nothing else open; idempotent."""
    _check_instructor_classes(settings)
    root = exchange_root(settings)
    result = ExchangeSetup(root)
    if not root.is_dir():
        try:
            root.mkdir(parents=True)
        except OSError as exc:
            raise ExchangeError(
                f"cannot create the exchange {root} ({exc.strerror}); create it as root "
                f"(sudo install -d -m {ROOT_MODE:o} {root}), or set c.Exchange.root in jupyter_config.py"
            ) from None
        result.changes.append(f"{root}: created")
    _close_root(root, result.changes)
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
