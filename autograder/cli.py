"""``autograder``: argument parsing and printing over the library; nothing else lives here."""

from __future__ import annotations

import argparse
import atexit
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .course.config import Settings, find_course_root, load_settings
from .course.curriculum import Curriculum, load_curriculum
from .course.workspace import check_learner_name, progress_page_path, refresh_progress_page
from .errors import AutograderError, NotFound
from .grading.evidence import iter_records, known_learners
from .views.mastery import Gap, PhaseProgress, phase_progress, progress_json


class CliError(AutograderError):
    """An error to print as one line, with exit status 2."""


def _context(args: argparse.Namespace) -> tuple[Settings, Curriculum]:
    root = find_course_root(Path(args.course) if args.course else None)
    state = Path(args.state) if args.state else None
    return load_settings(root, state_dir=state), load_curriculum(root)


def cmd_release(args: argparse.Namespace) -> int:
    from .grading.gradebook import ensure_assignment, generate_release
    from .grading.reference import default_references, write_compat_references

    settings, curriculum = _context(args)
    ids = args.assignment or [
        a.id for a in curriculum.assignments() if not curriculum.phase(a.phase_id).planned
    ]
    for assignment_id in ids:
        assignment = curriculum.assignment(assignment_id)
        generate_release(settings, assignment_id)
        ensure_assignment(settings, assignment_id)
        print(f"released {assignment_id} to curriculum/{assignment_id}")
        references = default_references(settings, assignment_id, [nb.name for nb in assignment.notebooks])
        path = write_compat_references(settings, references)
        print(f"reference values for stock nbgrader and nbval: {path}")
    return 0


def cmd_exchange_setup(args: argparse.Namespace) -> int:
    from .course.exchange import setup_exchange

    settings, _ = _context(args)
    target = Path(args.learner_config) if args.learner_config else None
    done = setup_exchange(settings, write_learner_config=target)
    for change in done.changes:
        print(change)
    print(f"exchange ready: {done.root}")
    if target is None:
        print("learners' nbgrader_config.py (/etc/jupyter/ or ~/.jupyter/):")
        print(done.learner_config, end="")
    return 0


def cmd_hub(args: argparse.Namespace) -> int:
    from .hub.launch import HubOptions, hub_command

    root = find_course_root(Path(args.course) if args.course else None)
    if args.state:
        os.environ["AUTOGRADER_STATE"] = str(Path(args.state).resolve())
    options = HubOptions(
        url=args.url, idle_seconds=args.idle_seconds, mem_limit=args.mem_limit, cpu_limit=args.cpu_limit,
        config=Path(args.config) if args.config else None,
    )  # fmt: skip
    hub = hub_command(root, options)
    if args.check:
        print(f"ready: the hub would start with {' '.join(hub.argv)} (in {hub.cwd})")
        return 0
    print(f"JupyterHub for the course on {hub.url} (Ctrl-C to stop)")
    return subprocess.call(hub.argv, env=hub.env, cwd=hub.cwd)


def cmd_start(args: argparse.Namespace) -> int:
    from .course.workspace import start

    settings, curriculum = _context(args)
    for assignment in curriculum.to_start(args.assignment, args.track):
        folder = start(settings, curriculum, assignment.id, args.learner)
        print(f"{args.learner}: {assignment.id} is ready in {folder}")
    print(f"progress page: {progress_page_path(settings, args.learner)}")
    print(f"open it with: autograder lab --learner {args.learner}")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    from .course.lab import lab_command

    settings, _ = _context(args)
    if bool(args.learner) == args.instructor:
        raise CliError("say whose JupyterLab to open: --learner NAME, or --instructor")
    learner = check_learner_name(args.learner) if args.learner else None
    lab = lab_command(settings, learner, port=args.port, token=args.token)
    print(f"JupyterLab for {learner or 'the instructor'} on {lab.url} (Ctrl-C to stop)")
    return subprocess.call(lab.argv, env=lab.env, cwd=lab.cwd)


def cmd_submit(args: argparse.Namespace) -> int:
    from .course.workspace import submit

    settings, curriculum = _context(args)
    target = submit(settings, curriculum, args.assignment, args.learner)
    print(f"{args.learner}: submitted {args.assignment} ({target})")
    status = 0
    if args.grade:
        args.learners = [args.learner]
        status = cmd_grade(args)
    print(f"progress page: {refresh_progress_page(settings, curriculum, args.learner)}")
    return status


def _result_line(result: object) -> list[str]:
    """The lines one graded submission prints: its errors, then its score on each seed."""
    from .grading.grade import SubmissionResult

    if not isinstance(result, SubmissionResult):
        return [f"error: {result}"]
    lines = [f"error: {line}" for line in result.errors]
    runs = max((len(nb.runs) for nb in result.notebooks), default=0)
    scores = []
    for i in range(runs):
        got, total = result.score(i)
        seed = next((nb.runs[i].parameters.get("seed") for nb in result.notebooks if len(nb.runs) > i), "?")
        scores.append(f"seed {seed}: {got:g}/{total:g}")
    got, total = result.recorded_score()
    recorded = f"; gradebook {got:g}/{total:g}" if runs > 1 else ""
    return [*lines, f"graded {result.learner}/{result.assignment}: " + ", ".join(scores) + recorded]


def grade_summary(results: list[Any], seconds: float) -> str:
    """The table a grading run ends with: one row per submission, then the totals."""
    from .grading.grade import SubmissionResult
    from .run.progress import table

    rows = []
    for result in results:
        if not isinstance(result, SubmissionResult):
            rows.append(["?", "-", "-", "-", "not graded", 0])
            continue
        runs = max((len(nb.runs) for nb in result.notebooks), default=0)
        got, total = result.score(0)
        others = [result.score(i) for i in range(1, runs)]
        other = ", ".join(f"{g:g}/{t:g}" for g, t in others) or "-"
        statuses = sorted({run.status for nb in result.notebooks for run in nb.runs} - {"completed"})
        kept, _ = result.recorded_score()
        rows.append(
            [
                result.learner,
                f"{got:g}/{total:g}",
                other,
                f"{kept:g}/{total:g}",
                ", ".join(statuses) or "ok",
                len(result.errors),
            ]
        )
    graded = sum(1 for r in results if isinstance(r, SubmissionResult))
    per = seconds / len(results) if results else 0.0
    footer = (
        f"{graded} graded, {len(results) - graded} not graded, in {seconds:.1f} s "
        f"({per:.2f} s per submission)"
    )
    header = ["learner", "default seed", "drawn seeds", "gradebook", "runs", "errors"]
    return table(header, rows) + "\n" + footer


def cmd_grade(args: argparse.Namespace) -> int:
    settings, curriculum = _context(args)
    if not args.scheduler and not args.unsafe_no_sandbox:  # warm up while nbgrader imports
        from .run.runners import grading_sandbox, prestart

        assignment = curriculum.assignment(args.assignment)
        sources = [settings.source_notebook(assignment.id, nb.name) for nb in assignment.notebooks]
        prestart(grading_sandbox(settings, sources))

    from .grading.grade import SubmissionError, grade_assignment, submitted_learners
    from .run.progress import Progress

    learners = [check_learner_name(n) for n in args.learners] if args.learners else None
    if args.unsafe_no_sandbox:
        print("warning: --unsafe-no-sandbox: learner code runs with the grader's own rights, unconfined")
    total = len(learners) if learners is not None else len(submitted_learners(settings, args.assignment))
    with Progress(total, f"grading {args.assignment}", unit="submission", quiet=args.quiet) as progress:

        def on_result(result: object) -> None:
            for line in _result_line(result):
                if line.startswith("error:") and args.quiet:
                    print(line)
                progress.note(line)
            progress.advance(getattr(result, "learner", ""))

        results = grade_assignment(
            settings,
            curriculum,
            args.assignment,
            learners=learners,
            seeds=args.seeds,
            on_result=on_result,
            unsafe_no_sandbox=args.unsafe_no_sandbox,
            scheduler=args.scheduler,
            workers=args.workers,
        )
    if not results:
        print(f"no submissions of {args.assignment} to grade in {settings.submitted_dir}")
    elif args.quiet:
        print(grade_summary(results, progress.seconds).splitlines()[-1])
    else:
        print()
        print(grade_summary(results, progress.seconds))
    for result in results:  # learners who work in a workspace here see their new state there
        learner = getattr(result, "learner", None)
        if (
            learner
            and not isinstance(result, SubmissionError)
            and progress_page_path(settings, learner).parent.is_dir()
        ):
            refresh_progress_page(settings, curriculum, learner)
    bad = sum(1 for r in results if isinstance(r, SubmissionError))
    return 1 if bad and bad == len(results) else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from .views.feedback import write_feedback, write_progress_feedback

    settings, curriculum = _context(args)
    learners = [check_learner_name(n) for n in args.learners] if args.learners else known_learners(settings)
    status = 0
    for learner in learners:
        try:
            for path in write_feedback(settings, curriculum, args.assignment, learner):
                print(f"wrote {path}")
            if (settings.feedback_dir / learner / args.assignment / "timestamp.txt").is_file():
                # nbgrader's generate_feedback made this folder: release_feedback will hand it out
                print(f"wrote {write_progress_feedback(settings, curriculum, args.assignment, learner)}")
        except NotFound as exc:
            print(f"error: {exc}")
            status = 1
    return status


def _state_cell(phase: PhaseProgress) -> str:
    track = f", track {phase.track}" if phase.track else ""
    if phase.mastered:
        return "mastered" + track
    if phase.unlocked:
        done = [a.latest_score for a in phase.assignments if a.latest_score is not None]
        suffix = f" ({done[0]:.0%} so far)" if done else ""
        return ("unlocked (notebooks coming)" if phase.planned else "unlocked") + track + suffix
    return "locked"


def _track_lines(learner: str, phase: PhaseProgress, curriculum: Curriculum) -> list[str]:
    """For a phase with tracks: the one that counts, the others taken, or how to choose one."""
    tracks = curriculum.phase(phase.phase).tracks
    if not tracks or phase.locked or phase.planned:
        return []
    if phase.track is None:
        choices = curriculum.phase(phase.phase).track_choices()
        return [f"{learner}: {phase.phase} has tracks; choose one: autograder start {phase.phase} {choices}"]
    others = [t for t in phase.tracks_taken if t != phase.track]
    also = f" (also taken: {', '.join(others)})" if others else ""
    return [f"{learner}: {phase.phase} counts the {phase.track} track{also}"]


def _gap_lines(phase: PhaseProgress) -> list[str]:
    """What stands in the way, one line per notebook, failing exercises named."""
    lines = []
    for assignment in phase.assignments:
        by_notebook: dict[str, list[Gap]] = {}
        for gap in assignment.gaps:
            by_notebook.setdefault(gap.notebook, []).append(gap)
        for notebook, gaps in by_notebook.items():
            general = [g.problem for g in gaps if g.exercise == "*"]
            exercises = [g for g in gaps if g.exercise != "*"]
            head = f"  {notebook}: " if notebook != "*" else "  "
            lines.append(head + ("; ".join(general) if general else "below mastery"))
            if exercises:
                names = ", ".join(f"{g.exercise} (core)" if g.core else g.exercise for g in exercises)
                seeds = sorted({s for g in exercises for s in g.seeds})
                lines.append(f"      failing: {names}  [seeds {', '.join(seeds)}]")
    return lines


def print_progress_table(progress: dict[str, list[PhaseProgress]], curriculum: Curriculum) -> None:
    if not progress:
        print("no learners yet")
        return
    phases = [p.phase for p in next(iter(progress.values()))]
    width = max(8, *(len(n) for n in progress))
    cols = [max(len(p), 28) for p in phases]
    print("learner".ljust(width) + "  " + "  ".join(p.ljust(w) for p, w in zip(phases, cols)))
    for learner, items in progress.items():
        print(learner.ljust(width) + "  " + "  ".join(_state_cell(p).ljust(w) for p, w in zip(items, cols)))
    for learner, items in progress.items():
        print()
        current = next((p for p in items if not p.mastered), None)
        done = [p.phase for p in items if p.mastered]
        if done and current is not None:
            print(f"{learner}: mastered {', '.join(done)}")
        for phase in items:
            if phase.mastered or phase is current:
                for line in _track_lines(learner, phase, curriculum):
                    print(line)
        if current is None:
            print(f"{learner}: has mastered every phase and completed the guide")
        elif current.missing_prerequisites:
            needs = ", ".join(current.missing_prerequisites)
            print(f"{learner}: {current.phase} is locked until {needs} is mastered")
        elif current.planned:
            print(f"{learner}: {current.phase} is unlocked; its notebooks are coming")
        elif current.assignments:  # empty: a phase with tracks, none chosen yet (said above)
            index = items.index(current)
            unlocks = f" and unlock {items[index + 1].phase}" if index + 1 < len(items) else ""
            print(f"{learner}: to master {current.phase}{unlocks}:")
            for line in _gap_lines(current):
                print(line)


def cmd_progress(args: argparse.Namespace) -> int:
    settings, curriculum = _context(args)
    if args.learner:
        check_learner_name(args.learner)
        if args.learner not in known_learners(settings):
            raise CliError(
                f"unknown learner {args.learner!r}; "
                f"known learners: {', '.join(known_learners(settings)) or 'none'}"
            )
    if args.html:
        if not args.learner:
            raise CliError("--html writes one learner's page; add --learner NAME")
        from .views.dashboards import write_progress_page as write_page

        print(f"wrote {write_page(settings, curriculum, args.learner, Path(args.html))}")
        return 0
    learners = [args.learner] if args.learner else known_learners(settings)
    progress = {n: phase_progress(curriculum, list(iter_records(settings, n))) for n in learners}
    if args.json:
        print(json.dumps([progress_json(n, p) for n, p in progress.items()], indent=1))
    else:
        print_progress_table(progress, curriculum)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Make or re-make a learner's dated plan from their choices and their evidence."""
    from datetime import date, datetime

    from .course import plan as planning
    from .views.mastery import mastery_days

    settings, curriculum = _context(args)
    learner = check_learner_name(args.learner)
    today = date.today()
    saved = planning.saved_settings(settings.state_dir, learner)
    if args.hours_per_week is not None:
        hours = float(args.hours_per_week)
    elif saved is not None:
        hours = saved.hours_per_week
    else:
        raise CliError(f"{learner} has no plan yet; give --hours-per-week H (for instance 6, or 20)")
    try:
        start = date.fromisoformat(args.start) if args.start else None
    except ValueError:
        raise CliError(f"--start {args.start}: expected a date as YYYY-MM-DD, for instance {today}") from None
    chosen = planning.PlanSettings(
        hours,
        start or (saved.start if saved else today),
        args.track if args.track is not None else (saved.track if saved else None),
        args.goal if args.goal is not None else (saved.goal if saved else ""),
    )
    planning.check_settings(curriculum, chosen, today=today, new=saved is None or start is not None)
    records = list(iter_records(settings, learner))
    progress = phase_progress(curriculum, records)
    tracks = {p.phase: p.track for p in progress if p.track}
    plan = planning.make_plan(
        curriculum, learner, chosen, today=today, mastered_on=mastery_days(curriculum, records), tracks=tracks
    )
    planning.save_settings(settings.state_dir, learner, chosen)
    for line in planning.plan_lines(plan):
        print(line)
    if (settings.workspaces_dir / learner).is_dir():  # the page beside their notebooks shows the plan
        print(f"progress page: {refresh_progress_page(settings, curriculum, learner)}")
    if args.ics:
        from .course.ics import write_ics

        count = write_ics(plan, Path(args.ics), stamp=datetime.now().replace(microsecond=0))
        print(f"wrote {count} study sessions to {args.ics}")
    return 0


def _review_moment(args: argparse.Namespace) -> Any:
    """Now, or noon of ``--as-of`` (to see what a day's review would hold)."""
    from datetime import UTC, date, datetime, time

    if not args.as_of:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return datetime.combine(date.fromisoformat(args.as_of), time(12), tzinfo=UTC)
    except ValueError:
        raise CliError(f"--as-of {args.as_of}: expected a date as YYYY-MM-DD") from None


def cmd_review(args: argparse.Namespace) -> int:
    """Build today's review of the learner's due cards, or grade the one they worked."""
    import random

    from .course.schedule import end_of_day
    from .grading import review

    settings, curriculum = _context(args)
    learner = check_learner_name(args.learner)
    now = _review_moment(args)
    if args.grade:
        outcomes = review.grade_review(
            settings,
            curriculum,
            learner,
            now=now,
            rng=random.Random(),
            unsafe_no_sandbox=args.unsafe_no_sandbox,
        )
        for outcome in outcomes:
            card = outcome.card
            verdict = "recalled" if outcome.review.passed else "not yet"
            print(f"{card.card.key}: {verdict}; next review {card.due.date().isoformat()}")
            for problem in outcome.review.problems:
                print(f"    {problem}")
        recalled = sum(o.review.passed for o in outcomes)
        print(f"{learner}: {recalled} of {len(outcomes)} card(s) recalled")
    else:
        built = review.build_review(settings, curriculum, learner, now=now, rng=random.Random())
        deck = review.refresh_deck(settings, curriculum, learner)
        passed, reviewed = deck.retention()
        shown = f"{passed} of {reviewed} reviews recalled" if reviewed else "no reviews yet"
        print(f"{learner}: {len(deck.cards)} card(s) in the review queue; {shown}")
        if built is None:
            upcoming = deck.next_due(end_of_day(now.date()))
            when = f"; the next comes due {upcoming.date().isoformat()}" if upcoming else ""
            print(f"nothing is due on {now.date().isoformat()}{when}")
        else:
            print(f"{len(built.due)} card(s) due, under seed {built.session.seed}:")
            for c in built.due:
                print(f"    {c.card.key} ({c.card.kind}, due {c.due.date().isoformat()})")
            if built.waiting:
                print(f"    and {built.waiting} more due, for the next review")
            for path in built.paths:
                print(f"review notebook: {path}")
            print(f"when done: autograder review --learner {learner} --grade")
    if progress_page_path(settings, learner).parent.is_dir():
        refresh_progress_page(settings, curriculum, learner)
    return 0


def cmd_portfolio(args: argparse.Namespace) -> int:
    """Write a learner's portfolio page; ``--notebook`` choices are kept for the next time."""
    from .views.portfolio import choice_file, write_portfolio

    settings, curriculum = _context(args)
    learner = check_learner_name(args.learner)
    path = write_portfolio(settings, curriculum, learner, Path(args.html), args.notebooks)
    print(f"wrote {path}")
    if args.notebooks is not None:
        print(f"notebooks kept for the next time in {choice_file(settings.state_dir, learner)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .run.progress import table
    from .views.dashboards import class_records, class_view, write_class_report

    settings, curriculum = _context(args)
    if args.assignment:
        curriculum.assignment(args.assignment)  # an unknown one fails here, with the known ones
    if args.html:
        view = write_class_report(settings, curriculum, Path(args.html), args.assignment)
    else:
        view = class_view(curriculum, class_records(settings), args.assignment)
    rows: list[list[Any]] = []
    with_tracks = any(p.tracks for p in view.phases)  # a column only for a course with tracks
    for p in view.phases:
        blocker = f"{p.blockers[0][0]} ({p.blockers[0][1]})" if p.blockers else "-"
        tracks = [", ".join(f"{track} {n}" for track, _, n in p.tracks) or "-"] if with_tracks else []
        rows.append([p.phase, p.locked, p.unlocked, p.mastered, *tracks, blocker])
    print(f"{len(view.learners)} learner(s), {view.records} evidence record(s)")
    head = [
        "phase",
        "locked",
        "unlocked",
        "mastered",
        *(["tracks taken"] if with_tracks else []),
        "blocks most",
    ]
    print(table(head, rows))
    hardest = [[x.label, f"{x.mean:.0%}", f"{x.full_marks}/{len(x.values)}"] for x in view.hardest(5)]
    if hardest:
        print(table(["hardest exercises", "mean score", "full marks"], hardest))
    if view.mistakes:
        from .views.mistakes import mistakes_rows

        print(table(["notebook", "exercise", "known mistake", "learners"], mistakes_rows(view.mistakes, 10)))
    if args.html:
        print(f"wrote {args.html}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .views.lms import export_grades

    settings, curriculum = _context(args)
    text = export_grades(settings, curriculum, args.lms)
    if not args.out:
        sys.stdout.write(text)
        return 0
    from .grading.storage import write_bytes_atomic

    write_bytes_atomic(Path(args.out), text.encode())
    learners = len(text.splitlines()) - 2  # after the header and the points-possible row
    print(f"wrote {args.out} ({learners} learner(s), {args.lms} gradebook import layout)")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from .views.leaderboard import leaderboard

    settings, curriculum = _context(args)
    metric, entries = leaderboard(settings, curriculum.assignment(args.assignment))
    if not entries:
        print(f"no graded submissions of {args.assignment} yet")
        return 0
    width = max(8, *(len(e.learner) for e in entries))
    print(f"{'rank':>4}  {'learner'.ljust(width)}  {'public ' + metric:>16}  {'private ' + metric:>16}")
    for rank, entry in enumerate(entries, start=1):
        public = f"{entry.public:.4f}" if entry.public is not None else "-"
        private = f"{entry.private:.4f}" if entry.private is not None else "-"
        note = f"  ({entry.note})" if entry.note else ""
        print(f"{rank:>4}  {entry.learner.ljust(width)}  {public:>16}  {private:>16}{note}")
    print("ranked by the private split; learners see the public one while the competition runs")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .course.validate import check_curriculum, check_steps
    from .run.progress import Progress, table

    settings, curriculum = _context(args)
    total = check_steps(curriculum, args.assignment, args.nbval)
    with Progress(total, "checking notebooks", unit="step", quiet=args.quiet) as progress:
        report = check_curriculum(
            settings,
            curriculum,
            assignments=args.assignment,
            nbval=args.nbval,
            log=progress.note,
            step=progress.advance,
        )
    if not args.quiet:
        rows = [[key, seconds] for key, seconds in sorted(report.timings.items())]
        print(table(["run", "seconds"], rows))
    for problem in report.problems:
        print(f"FAIL {problem}")
    print(f"autograder check: {len(report.problems)} problem(s)")
    return 1 if report.problems else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .course.demo import demo_state_dir, run_demo

    root = find_course_root(Path(args.course) if args.course else None)
    state = Path(args.state) if args.state else demo_state_dir(root)
    settings, curriculum = load_settings(root, state_dir=state), load_curriculum(root)
    log = (lambda _line: None) if args.quiet else print
    progress = run_demo(settings, curriculum, log=log, quiet=args.quiet)
    print()
    print_progress_table(progress, curriculum)
    print(f"\nfeedback pages: {settings.feedback_dir}")
    print(f"nbgrader sees the grades too: AUTOGRADER_STATE={settings.state_dir} nbgrader export")
    return 0


def _positive_int(text: str) -> int:
    """An argument that counts something: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


_UNSAFE_HELP = (
    "run learner code unsandboxed (only where the machine cannot sandbox; never for untrusted work)"
)

Subparsers = argparse._SubParsersAction  # the object add_subparsers returns; argparse has no public name


def _add_course_setup_commands(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """The instructor's setup commands: release the notebooks, open the exchange."""
    p = sub.add_parser("release", help="generate curriculum/ from solutions/ with nbgrader")
    p.add_argument("assignment", nargs="*")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("exchange-setup", help="make nbgrader's exchange usable by learner accounts")
    p.add_argument("--learner-config", metavar="PATH", help="write the learners' nbgrader_config.py here")
    p.set_defaults(func=cmd_exchange_setup)

    p = sub.add_parser("hub", help="start the course's JupyterHub (as root; see docs/HUB.md)")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="where the hub listens")
    p.add_argument("--config", help="the hub's configuration (default: the course's jupyterhub_config.py)")
    p.add_argument("--idle-seconds", type=_positive_int, default=3600, help="stop servers idle this long")
    p.add_argument("--mem-limit", default="4G", help="memory of one person's server and its kernels")
    p.add_argument("--cpu-limit", type=float, default=1.0, help="CPU of one person's server, in cores")
    p.add_argument("--check", action="store_true", help="check and prepare everything, do not start")
    p.set_defaults(func=cmd_hub)


def _add_workspace_commands(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """The commands a learner's working day goes through: start, lab and submit."""
    p = sub.add_parser("start", help="copy an assignment (or a phase's) into a learner's workspace")
    p.add_argument("assignment", help="an assignment or a phase of the manifest")
    p.add_argument("--learner", required=True)
    p.add_argument("--track", help="for a phase with tracks: which one (e.g. nlp or cv)")
    p.set_defaults(func=cmd_start)

    p = sub.add_parser(
        "lab", help="open JupyterLab on a learner's workspace (or the course, with formgrader)"
    )
    p.add_argument("--learner", help="whose workspace to open")
    p.add_argument("--instructor", action="store_true", help="open the course directory, with formgrader")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--token", help="the login token (default: a new random one, shown in the URL)")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("submit", help="submit a learner's workspace, then grade it")
    p.add_argument("assignment")
    p.add_argument("--learner", required=True)
    p.add_argument("--grade", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--unsafe-no-sandbox", action="store_true", help=_UNSAFE_HELP)
    p.set_defaults(func=cmd_submit, learners=None, quiet=False, workers=None, scheduler=None)


def _add_grading_commands(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Grading and what a grading writes for learners: grade and feedback."""
    p = sub.add_parser("grade", help="grade every submission of an assignment")
    p.add_argument("assignment")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; errors and the totals only")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="runs at once here (default: one more than the cores)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the notebooks on this Dask cluster (tcp://host:port); scores stay here",
    )
    p.add_argument("--learner", dest="learners", action="append", help="only this learner (repeatable)")
    p.add_argument("--seeds", type=int, default=None, help="parameter sets per submission (default 2)")
    p.add_argument("--unsafe-no-sandbox", action="store_true", help=_UNSAFE_HELP)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="write HTML feedback from the latest grading")
    p.add_argument("assignment")
    p.add_argument("--learner", dest="learners", action="append")
    p.set_defaults(func=cmd_feedback)


def _add_view_commands(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """The read-only views of the evidence: progress, plan, portfolio, report, export and leaderboard."""
    p = sub.add_parser("progress", help="what is unlocked, and what stands in the way")
    p.add_argument("--learner")
    p.add_argument("--json", action="store_true")
    p.add_argument("--html", metavar="PATH", help="write the learner's progress page (HTML, with charts)")
    p.set_defaults(func=cmd_progress)

    p = sub.add_parser("plan", help="a learner's dated plan, re-planned from their evidence")
    p.add_argument("--learner", required=True)
    p.add_argument(
        "--hours-per-week", type=float, metavar="H", help="study hours a week (kept for next time)"
    )
    p.add_argument("--start", metavar="YYYY-MM-DD", help="the day the plan starts (default: today)")
    p.add_argument("--track", help="the track for a phase with tracks (phase 4: nlp or cv)")
    p.add_argument("--goal", help="what the plan is for, in your words (shown with it)")
    p.add_argument("--ics", metavar="PATH", help="write the study sessions as an iCalendar file")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("review", help="a learner's spaced review: build the cards due today, or grade them")
    p.add_argument("--learner", required=True)
    p.add_argument("--grade", action="store_true", help="grade the review the learner worked on")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="the day to review for (default: today)")
    p.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run learner code unconfined (trusted notebooks only)",
    )
    p.set_defaults(func=cmd_review)
    p = sub.add_parser("portfolio", help="a learner's portfolio page, built from their evidence")
    p.add_argument("--learner", required=True)
    p.add_argument("--html", metavar="PATH", required=True, help="write the page here (one HTML file)")
    p.add_argument(
        "--notebook",
        dest="notebooks",
        action="append",
        metavar="ASSIGNMENT/NOTEBOOK",
        help="an executed notebook to show, repeated (kept for the next time; default: the last choice)",
    )
    p.set_defaults(func=cmd_portfolio)

    p = sub.add_parser("report", help="the class dashboard: where learners are blocked, hardest exercises")
    p.add_argument("--html", metavar="PATH", help="write the dashboard as one HTML file, with charts")
    p.add_argument("--assignment", help="only this assignment (and its phase)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="grades for a learning-management system (CSV)")
    p.add_argument("--lms", required=True, choices=["canvas"], help="the import layout (Canvas Gradebook)")
    p.add_argument("--out", metavar="PATH", help="write the CSV here (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("leaderboard", help="the class ranking of an assignment's competition")
    p.add_argument("assignment")
    p.set_defaults(func=cmd_leaderboard)


def _add_course_test_commands(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """The commands that exercise the course itself: check (CI) and demo."""
    p = sub.add_parser("check", help="validate every notebook of every phase (CI)")
    p.add_argument("--assignment", action="append")
    p.add_argument("--nbval", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or timings; problems only")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("demo", help="a throw-away course with three simulated learners")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars; the final table only")
    p.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; subcommands are added group by group, in the order --help lists them."""
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    parser.add_argument("--course", help="the course directory (default: found from the working directory)")
    parser.add_argument("--state", help="the working-state folder (default: .autograder in the course)")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_course_setup_commands(sub)
    _add_workspace_commands(sub)
    _add_grading_commands(sub)
    _add_view_commands(sub)
    _add_course_test_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (AutograderError, ConnectionError) as exc:  # ConnectionError: an unreachable Dask scheduler
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 2


def run() -> NoReturn:
    """The ``autograder`` command: ``main``, then a quick exit once everything is written.

    Why: after a grading, tearing down the modules it imported (nbgrader, SQLAlchemy,
    papermill, ...) took about 0.3 s more. Exit handlers (the warm kernel process, log
    handlers) still run and the output streams are flushed; every file was closed
    already, and the gradebook committed.
    """
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
