"""One configuration for nbgrader, Jupyter and the autograder.

It makes this repository an nbgrader course directory: ``solutions/`` is nbgrader's source
folder and ``curriculum/`` its release folder. Everything that changes while a course
runs (gradebook, submissions, autograded copies, feedback, evidence, learner workspaces)
lives under one git-ignored state folder, ``.autograder/`` unless ``AUTOGRADER_STATE``
names another (the demo uses a throw-away one).
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

ROOT = Path(__file__).resolve().parent
STATE = Path(os.environ.get("AUTOGRADER_STATE") or ROOT / ".autograder").resolve()


def _under_state(name: str) -> str:
    return os.path.relpath(STATE / name, ROOT)


# --- nbgrader: the course directory -------------------------------------------------
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "ml-career"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "curriculum"
c.CourseDirectory.submitted_directory = _under_state("submitted")
c.CourseDirectory.autograded_directory = _under_state("autograded")
c.CourseDirectory.feedback_directory = _under_state("feedback")
c.CourseDirectory.solution_directory = _under_state("released-solutions")
c.CourseDirectory.db_url = os.environ.get("AUTOGRADER_DB_URL") or f"sqlite:///{STATE / 'gradebook.db'}"
c.Exchange.root = str(STATE / "exchange")
c.Exchange.path_includes_course = True
# `nbgrader collect` takes a submission only for the account that owns all of it, and says
# which it refuses; release_assignment leaves the exchange root closed to learners, where
# nbgrader's makes it writable by everyone (autograder/course/exchange_plugins.py). Learners'
# classes are in the config `autograder exchange-setup` writes for them.
c.ExchangeFactory.release_assignment = "autograder.course.exchange_plugins.ReleaseAssignment"
c.ExchangeFactory.collect = "autograder.course.exchange_plugins.OwnerCheckedCollect"
c.ExchangeFactory.release_feedback = "autograder.course.exchange_plugins.ReleaseFeedback"
c.ExchangeFactory.list = "autograder.course.exchange_plugins.List"
c.Execute.timeout = 60
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# nbgrader copies every other file of a source folder into the release; honest alternative
# solutions (``solutions/<assignment>/alternatives/``) are solutions and must never be released.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "alternatives", "misconceptions"]

# --- the autograder -------------------------------------------------------------------
c.Autograder.state_dir = str(STATE)
c.Autograder.cell_timeout = 60  # seconds one cell may run before it is interrupted
c.Autograder.run_timeout = 300  # seconds for one whole notebook run, kernel start included
c.Autograder.submission_timeout = 900  # seconds for all runs of one submission (every notebook, every seed)
c.Autograder.max_notebook_mb = 20  # a submitted notebook larger than this is refused before it is read
c.Autograder.seeds = 2  # parameter sets per submission: the default plus one drawn at random
c.Autograder.check_seeds = 3  # parameter sets `autograder check` runs every solution under
c.Autograder.max_notebook_seconds = 60  # `autograder check` fails a slower solution notebook
# Sandbox limits for learner kernels (see autograder/run/sandbox.py for how they are enforced)
c.Autograder.memory_mb = 4096  # address space of the kernel and its children
c.Autograder.cpu_seconds = 600  # CPU time of the kernel process
c.Autograder.processes = 64  # processes and threads the sandbox's uid may have at once
c.Autograder.file_size_mb = 64  # largest file the notebook may write
c.Autograder.output_kb = 1024  # printed output the grader keeps per run; past it the run stops
# Speed. Kernels are forked from a warm process that has imported these modules once
# (autograder/run/zygote.py; as root only, else each kernel starts cold), and `workers`
# notebook runs go at once (0: one more than the CPU cores).
c.Autograder.warm_kernels = True
c.Autograder.preload = []  # modules to import besides what the graded notebooks import
c.Autograder.workers = 0
