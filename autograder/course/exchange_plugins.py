"""nbgrader's exchange, where a submission counts only for the account that made it.

nbgrader 0.9 lets a course name its own exchange classes (``c.ExchangeFactory``). Its
default exchange believes the learner's name written in a submission folder's name
(``B+phase1-foundations+<timestamp>+<random>``): when learner A runs ``nbgrader submit
phase1-foundations --student B``, ``nbgrader collect`` warns "claims to be submitted by B
but is owned by A; cheating attempt?" and then collects A's folder as B's, over B's own
work, as the latest wins. A learner's own nbgrader configuration is theirs to change, so
the safety lies on the instructor's side and in the folders' permissions:

- ``OwnerCheckedCollect`` (the course's ``c.ExchangeFactory.collect``) collects, for each
  learner, the latest submission that is wholly theirs: a real folder, owned by the
  account whose name it bears, holding only folders and regular files owned by that
  account (no symlink, FIFO or file planted by someone else), no larger than
  ``CourseDirectory.max_dir_size``, named with a timestamp nbgrader can read. It copies
  that submission through file descriptors opened without following links into a private
  folder first, so that what it checked is what it collects and nothing collected before
  is removed for a copy that then fails. Every other folder is refused with one line to
  the instructor (the folder, the learner it names, the account that owns it), is left in
  the inbound, and is never collected, over a real submission or at all.
  nbgrader's ``check_owner`` option (a warning only) is superseded by this check.
- ``OwnFolderSubmit`` (the learners' ``c.ExchangeFactory.submit``, in the configuration
  ``autograder exchange-setup`` writes) refuses ``--student`` naming another account and
  leaves the submission readable by its owner and the inbound's group only (folders 0750,
  files 0640; nbgrader makes the folder 0777 "so the instructor can delete later" and its
  files 0644). The inbound is set-group-id, so that group is the instructor's own, which
  ``exchange-setup`` checks no other account shares: no learner can read, add to or
  remove from another's submission, nor learn from its ``submission_secret.txt`` the name
  of its feedback page. The sticky bit ``exchange-setup`` puts on the inbound stops anyone
  renaming or deleting another's submission folder. A learner who drops this class from
  their configuration only opens their own folder; the collect-side checks still hold.

The exchange root is not writable by learners (``exchange-setup`` makes it 0755), where
nbgrader's every command insists that it be writable by whoever runs it and its
``release_assignment`` makes it 0777 again. ``ClosedRoot`` asks only that the root can
be entered; every class here has it, and the learners' configuration names the
learners' four (fetch, submit, list, fetch feedback), the course's the instructor's.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import pwd
import shutil
import stat
import tempfile
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.exchange import Exchange
from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
from nbgrader.exchange.default.fetch_feedback import ExchangeFetchFeedback
from nbgrader.exchange.default.list import ExchangeList
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import (
    check_directory,
    check_mode,
    get_username,
    ignore_patterns,
    notebook_hash,
    parse_utc,
)

from ..layout import MASTERY_PAGE_SUFFIX, PROGRESS_PAGE

SUBMISSION_FOLDER_MODE = 0o750
"""A submission's folders in the inbound: their owner writes, the inbound's group (the
instructor's, through the set-group-id inbound) reads, no one else enters them."""
SUBMISSION_FILE_MODE = 0o640
FOLDER_MODE = 0o755
"""The collected copy's folders, in the instructor's closed state folder (as nbgrader's)."""
FILE_MODE = 0o644
FEEDBACK_PAGE_MODE = 0o644
"""Released feedback pages: readable by the one who knows the name (a hash of their submission's secret)."""
MAX_DEPTH = 32
"""Folders deeper than this in a submission refuse it (each level holds a descriptor open)."""
MAX_ENTRIES = 10_000
"""Files and folders one submission may hold, so that one learner cannot stall a collect."""
CHUNK = 1 << 20

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO must not block


class Refused(Exception):
    """Why one folder of the inbound is not collected; the message ends a log line."""


@dataclass(frozen=True)
class Claim:
    """One entry of the inbound and the learner whose submission its name says it is."""

    filename: str
    learner: str
    owner: str
    uid: int
    timestamp: datetime | None
    problem: str = ""
    """Why it cannot be this learner's submission, seen without opening it; empty if none."""


def account_name(uid: int) -> str:
    """The account that owns a file, as nbgrader's student ids name learners."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid} (no such account)"


def read_claim(inbound: str, filename: str) -> Claim:
    """Who an inbound entry names and who owns it, from ``lstat``: nothing is followed."""
    parts = filename.rsplit("+", 3)  # as nbgrader's ExchangeCollect._path_to_record
    learner = parts[0]
    try:
        timestamp = parse_utc(parts[2]) if len(parts) >= 3 else None
    except Exception:  # a learner chose this name: whatever dateutil makes of it, refuse it only
        timestamp = None
    try:
        st = os.lstat(os.path.join(inbound, filename))
    except OSError as exc:
        return Claim(filename, learner, "nobody", -1, timestamp, f"it cannot be read ({exc.strerror})")
    owner = account_name(st.st_uid)
    if stat.S_ISLNK(st.st_mode):
        problem = "it is a symlink, not a submission folder"
    elif not stat.S_ISDIR(st.st_mode):
        problem = "it is not a folder"
    elif owner != learner:
        problem = (
            "a submission counts only for the account that made it "
            f"(if {learner} made it, ask them to submit again from their own account)"
        )
    elif timestamp is None:
        problem = "its name holds no timestamp nbgrader can read"
    else:
        problem = ""
    return Claim(filename, learner, owner, st.st_uid, timestamp, problem)


def _where(rel: str) -> str:
    """How a refusal names an entry: relative to the submission folder, or the folder itself."""
    return f"{rel} in it" if rel else "it"


class OwnedTreeCopy:
    """Copy one submission folder, refusing it unless every entry is the learner's own.

    Every folder and file is opened relative to its parent's descriptor without
    following links, and checked on the descriptor (``fstat``), so that an entry swapped
    for a symlink or a FIFO between a check and the copy is refused, never followed.
    Entries nbgrader would skip (``CourseDirectory.ignore``, ``include``,
    ``max_file_size``) are checked but not copied, as nbgrader's ``do_copy`` skips them.
    """

    def __init__(self, uid: int, *, max_bytes: int, exclude: list[str], include: list[str], max_file: int):
        self.uid = uid
        self.bytes_left = max_bytes
        self.max_bytes = max_bytes
        self.exclude = exclude
        self.include = include
        self.max_file = max_file
        self.entries = 0
        self.skipped_large: list[str] = []

    def copy(self, parent_fd: int, name: str, target: str) -> None:
        """Copy ``name`` (a folder in ``parent_fd``) to ``target``, or raise ``Refused``."""
        self._folder(parent_fd, name, target, "", 0)

    def _open(self, parent_fd: int, name: str, flags: int, rel: str) -> int:
        try:
            return os.open(name, flags, dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped since it was looked at
                raise Refused(f"{_where(rel)} is a symlink or has changed type") from None
            raise Refused(f"{_where(rel)} cannot be read ({exc.strerror})") from None

    def _check(self, st: os.stat_result, rel: str) -> None:
        if stat.S_ISLNK(st.st_mode):
            raise Refused(f"{_where(rel)} is a symlink")
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            raise Refused(f"{_where(rel)} is neither a folder nor a regular file")
        if st.st_uid != self.uid:
            raise Refused(f"{_where(rel)} is owned by {account_name(st.st_uid)}")

    def _skipped(self, name: str, st: os.stat_result, rel: str) -> bool:
        """What nbgrader's ``ignore_patterns`` leaves out of a copy."""
        if any(fnmatch.fnmatch(name, pattern) for pattern in self.exclude):
            return True
        if not stat.S_ISREG(st.st_mode):
            return False
        if self.include and not any(fnmatch.fnmatch(name, pattern) for pattern in self.include):
            return True
        if self.max_file and st.st_size > 1000 * self.max_file:
            self.skipped_large.append(rel)
            return True
        return False

    def _folder(self, parent_fd: int, name: str, target: str | None, rel: str, depth: int) -> None:
        fd = self._open(parent_fd, name, _FOLDER, rel)
        try:
            self._check(os.fstat(fd), rel)
            if target is not None:
                os.mkdir(target)
                os.chmod(target, FOLDER_MODE)
            for entry in sorted(os.listdir(fd)):
                self.entries += 1
                if self.entries > MAX_ENTRIES:
                    raise Refused(f"it holds more than {MAX_ENTRIES} files and folders")
                entry_rel = os.path.join(rel, entry)
                try:
                    st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
                except OSError as exc:
                    raise Refused(f"{_where(entry_rel)} cannot be read ({exc.strerror})") from None
                self._check(st, entry_rel)
                copy_to = None
                if target is not None and not self._skipped(entry, st, entry_rel):
                    copy_to = os.path.join(target, entry)
                if stat.S_ISDIR(st.st_mode):
                    if depth + 1 >= MAX_DEPTH:
                        raise Refused(f"its folders nest deeper than {MAX_DEPTH}")
                    self._folder(fd, entry, copy_to, entry_rel, depth + 1)
                else:
                    self._file(fd, entry, copy_to, entry_rel)
        finally:
            os.close(fd)

    def _file(self, parent_fd: int, name: str, target: str | None, rel: str) -> None:
        fd = self._open(parent_fd, name, _FILE, rel)
        try:
            st = os.fstat(fd)
            self._check(st, rel)
            if not stat.S_ISREG(st.st_mode):
                raise Refused(f"{_where(rel)} is not a regular file")
            self._spend(st.st_size)
            if target is None:
                return
            with open(target, "xb") as out:
                os.fchmod(out.fileno(), FILE_MODE)
                copied = 0
                while chunk := os.read(fd, CHUNK):
                    copied += len(chunk)
                    if copied > st.st_size:  # it grows while being copied
                        self._spend(copied - max(st.st_size, copied - len(chunk)))
                    out.write(chunk)
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # as shutil.copy2, nbgrader's copy
        finally:
            os.close(fd)

    def _spend(self, size: int) -> None:
        self.bytes_left -= size
        if self.bytes_left < 0:
            raise Refused(f"it holds more than {self.max_bytes // 1000} kB (c.CourseDirectory.max_dir_size)")


class ClosedRoot(Exchange):  # type: ignore[misc]  # nbgrader is untyped
    """An exchange whose root only needs to be entered, never written, by whoever runs it.

    nbgrader's ``Exchange.ensure_root`` refuses a root the account cannot write, and its
    ``release_assignment`` makes the root 0777; here learners write only into the
    course's inbound, so the root stays closed to them (``autograder exchange-setup``).
    """

    def ensure_root(self) -> None:
        if not check_directory(self.root, execute=True):
            self.fail(
                f"cannot enter the exchange {self.root}: it is missing or closed to this account; "
                "ask the instructor to run `autograder exchange-setup`"
            )


class OwnerCheckedCollect(ClosedRoot, ExchangeCollect):  # type: ignore[misc]  # nbgrader is untyped
    """``nbgrader collect``, where a submission counts only for the account that owns it."""

    _staging: str | None = None
    _staged: dict[str, str]

    def start(self) -> None:
        """Collect; whatever was staged and not collected is removed, whatever happens."""
        try:
            super().start()
        finally:
            if self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)

    def init_src(self) -> None:
        """nbgrader 0.9's checks and choice of submission, over submissions we accept only.

        As ``ExchangeCollect.init_src``: the latest submission of each learner, or with
        ``--before-duedate`` the latest one before the due date, else the latest. A
        refused folder is passed over, so the learner's latest sound submission counts.
        """
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        self.duedate = self._duedate()
        self._staging = tempfile.mkdtemp(prefix=".autograder-collect-", dir=self._staging_parent())
        self._staged = {}
        claims: dict[str, list[Claim]] = defaultdict(list)
        for claim in self._claims():
            if claim.problem:
                self._refuse(claim, claim.problem)
            else:
                claims[claim.learner].append(claim)
        self.src_records = []
        for learner in sorted(claims):
            for claim in self._preference(claims[learner]):
                try:
                    self._staged[claim.filename] = self._stage(claim)
                except Refused as exc:
                    self._refuse(claim, str(exc))
                    continue
                record = {"username": learner, "filename": claim.filename, "timestamp": claim.timestamp}
                self.src_records.append(record)
                break

    def copy_files(self) -> None:
        """nbgrader's copy, from our staged copies; its owner warning is superseded by ours."""
        self.check_owner = False
        super().copy_files()

    def do_copy(self, src: str, dest: str, log: object = None) -> None:
        """Put the copy checked in ``init_src`` in place of the inbound folder ``src``."""
        staged = self._staged.pop(os.path.basename(src))
        shutil.move(staged, dest)

    def _duedate(self) -> datetime | None:
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                duedate: datetime | None = gb.find_assignment(self.coursedir.assignment_id).duedate
                return duedate
            except MissingEntry:
                return None

    def _claims(self) -> list[Claim]:
        student = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, f"{student}+{self.coursedir.assignment_id}+*")
        return [read_claim(self.inbound_path, os.path.basename(path)) for path in sorted(glob.glob(pattern))]

    def _preference(self, claims: list[Claim]) -> list[Claim]:
        """The order in which nbgrader would pick a learner's submission, best first."""
        newest = sorted(claims, key=lambda c: c.timestamp or datetime.min, reverse=True)
        if self.duedate is None or not self.before_duedate:
            return newest
        early = [c for c in newest if c.timestamp is not None and c.timestamp <= self.duedate]
        return early + [c for c in newest if c not in early]

    def _staging_parent(self) -> str | None:
        """Beside the submitted folder (so the copy moves in by a rename), else the temp folder."""
        sample = self.coursedir.format_path(self.coursedir.submitted_directory, "-", "-")
        parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(sample))))
        return parent if os.access(parent, os.W_OK | os.X_OK) else None

    def _stage(self, claim: Claim) -> str:
        """A private copy of the claim's folder, made only if all of it is the learner's."""
        assert self._staging is not None
        target = os.path.join(self._staging, str(len(self._staged)))
        copier = OwnedTreeCopy(
            claim.uid,
            max_bytes=1000 * self.coursedir.max_dir_size,
            exclude=list(self.coursedir.ignore),
            include=list(self.coursedir.include),
            max_file=self.coursedir.max_file_size,
        )
        inbound = os.open(self.inbound_path, _FOLDER)
        try:
            copier.copy(inbound, claim.filename, target)
        except Refused:
            shutil.rmtree(target, ignore_errors=True)
            raise
        finally:
            os.close(inbound)
        for rel in copier.skipped_large:
            self.log.warning(
                "Ignoring file too large '%s' (see config option CourseDirectory.max_file_size)",
                os.path.join(self.inbound_path, claim.filename, rel),
            )
        return target

    def _refuse(self, claim: Claim, reason: str) -> None:
        self.log.warning(
            "refused %s (named for %s, owned by %s): %s; it is not collected and stays in the inbound",
            os.path.join(self.inbound_path, claim.filename),
            claim.learner,
            claim.owner,
            reason,
        )


def _copy_keeping_group(src: str, dest: str, skip: Callable[[str, list[str]], Collection[str]]) -> None:
    """``shutil.copytree(src, dest, ignore=skip)`` whose folders keep what ``mkdir`` gave them."""
    os.mkdir(dest)
    names = os.listdir(src)
    skipped = set(skip(src, names))
    for name in names:
        if name in skipped:
            continue
        source, target = os.path.join(src, name), os.path.join(dest, name)
        if os.path.isdir(source):
            _copy_keeping_group(source, target, skip)
        else:
            shutil.copy2(source, target)


class OwnFolderSubmit(ClosedRoot, ExchangeSubmit):  # type: ignore[misc]  # nbgrader is untyped
    """``nbgrader submit`` as oneself, into a folder only its owner changes and the instructor reads."""

    def init_dest(self) -> None:
        """Refuse ``--student`` for another account before anything is written."""
        me = get_username()
        claimed = self.coursedir.student_id
        if claimed not in ("*", "", me):
            self.fail(
                f"this account is {me}: a submission counts only for the account that makes it, "
                f"so it cannot be submitted as {claimed}; run `nbgrader submit "
                f"{self.coursedir.assignment_id}` without --student"
            )
        super().init_dest()

    def do_copy(self, src: str, dest: str, log: object = None) -> None:
        """nbgrader's copy, except that into the inbound no folder takes its source's mode.

        ``shutil.copytree`` gives each folder its source's mode once it is filled, which
        drops the set-group-id bit the folder has from the inbound: what nbgrader writes
        in it next (``timestamp.txt``, ``submission_secret.txt``) would get the learner's
        own group, and the instructor could not read it.
        """
        if os.path.dirname(dest) != self.inbound_path:  # the learner's own cache
            super().do_copy(src, dest, log)
            return
        size, most = self.get_size(src), 1000 * self.coursedir.max_dir_size
        if size > most:  # as nbgrader's
            self.log.error("Directory size is too big")
            raise RuntimeError(f"Directory size is too big. Size is {size}, maximum size is {most}")
        skip = ignore_patterns(
            exclude=self.coursedir.ignore,
            include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size,
            log=self.log,
        )
        _copy_keeping_group(src, dest, skip)

    def set_perms(self, dest: str, fileperms: int, dirperms: int) -> None:
        """The submission's modes, where nbgrader's submit asks for 0644 files and 0755 folders.

        nbgrader calls this on the inbound folder only, after copying into it; the copies
        already have the inbound's group, which new entries of a set-group-id folder get.
        """
        super().set_perms(dest, SUBMISSION_FILE_MODE, SUBMISSION_FOLDER_MODE)

    def copy_files(self) -> None:
        """nbgrader's submit, then the folder closed again (nbgrader makes it 0777 last)."""
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), SUBMISSION_FOLDER_MODE)


class FetchAssignment(ClosedRoot, ExchangeFetchAssignment):  # type: ignore[misc]  # nbgrader is untyped
    """The learners' ``nbgrader fetch_assignment``, from a root they cannot write."""


class FetchFeedback(ClosedRoot, ExchangeFetchFeedback):  # type: ignore[misc]  # nbgrader is untyped
    """The learners' ``nbgrader fetch_feedback``: their own pages, found by their submissions' secrets.

    ``nbgrader release_feedback`` releases every page of a learner's feedback folder under a
    name made from their submission's secret and the page's name; nbgrader's own fetch looks
    for one page per notebook only. This one also fetches the course's own pages that
    ``autograder feedback`` adds: each notebook's mastery page and the learner's progress
    page. Only the submitting account (and the instructor) can read the secret.
    """

    def init_src(self) -> None:
        super().init_src()
        found = {(name, timestamp) for name, timestamp, _ in self.feedback_files}
        assignment = self.coursedir.assignment_id or "*"
        for submission in sorted(glob.glob(os.path.join(self.cache_path, f"*+{assignment}+*"))):
            secret_file = os.path.join(submission, "submission_secret.txt")
            if not os.path.isfile(secret_file):
                continue  # submitted before nbgrader kept secrets: nbgrader's own pages only
            with open(secret_file) as handle:
                secret = handle.read()
            timestamp = os.path.basename(submission).split("+")[2]
            notebooks = sorted(p.stem for p in Path(submission).glob("*.ipynb"))
            stem = MASTERY_PAGE_SUFFIX.removesuffix(".html")
            for name in [f"{nb}{stem}" for nb in notebooks] + [PROGRESS_PAGE.removesuffix(".html")]:
                page = os.path.join(
                    self.outbound_path, f"{notebook_hash(secret=secret, notebook_id=name)}.html"
                )
                if (name, timestamp) not in found and os.path.isfile(page):
                    self.feedback_files.append((name, timestamp, page))
                    self.log.info(
                        "Found %s for %s submitted at %s", name, os.path.basename(submission), timestamp
                    )


class List(ClosedRoot, ExchangeList):  # type: ignore[misc]  # nbgrader is untyped
    """``nbgrader list`` (and JupyterLab's Assignment List), from a root no learner writes."""


class ReleaseAssignment(ClosedRoot, ExchangeReleaseAssignment):  # type: ignore[misc]  # nbgrader is untyped
    """The instructor's ``nbgrader release_assignment``, which leaves the root as it is.

    nbgrader's makes the root 0777 (for anyone to create folders in, such as another
    course's id); this one refuses a root other accounts may write, until
    ``autograder exchange-setup`` closes it.
    """

    def ensure_root(self) -> None:
        super().ensure_root()
        if os.stat(self.root).st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            self.fail(
                f"the exchange {self.root} is writable by other accounts: a learner could create "
                "folders in it, such as another course's; run `autograder exchange-setup` to close it"
            )


class ReleaseFeedback(ClosedRoot, ExchangeReleaseFeedback):  # type: ignore[misc]  # nbgrader is untyped
    """The instructor's ``nbgrader release_feedback``, into the feedback folder ``exchange-setup`` closed.

    Each page is named by a hash of its submission's secret, which only the learner and
    the instructor can read: a learner fetches their own, and cannot list the folder.
    """

    def copy_files(self) -> None:
        """nbgrader's copy keeps each page's mode; a page the course wrote privately (0600, as
        ``autograder feedback`` writes into the closed state folder) would reach no learner."""
        super().copy_files()
        for page in glob.glob(os.path.join(self.dest_path, "*.html")):
            if os.stat(page).st_uid == os.geteuid():
                os.chmod(page, FEEDBACK_PAGE_MODE)
