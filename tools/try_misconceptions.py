"""Run one notebook's misconceptions as ``autograder check`` does, without checking the rest.

    .venv/bin/python tools/try_misconceptions.py phase1-foundations 01-python-numpy

For an author writing ``solutions/<assignment>/misconceptions/<notebook>.yaml``: each
misconception runs under the seeds ``check`` uses, and the script prints what ``check``
would say (nothing but the timing when all is well), then, per misconception and seed,
the exercise's checks it fails. The state is a throw-away folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import layout  # noqa: E402
from autograder.comparators import expected_for  # noqa: E402
from autograder.compare import compare  # noqa: E402
from autograder.course.config import load_settings  # noqa: E402
from autograder.course.validate import CheckReport  # noqa: E402
from autograder.course.validate_misconceptions import check_misconceptions  # noqa: E402
from autograder.grading.gradebook import generate_release  # noqa: E402
from autograder.grading.misconceptions import get_mistake, notebook_misconceptions  # noqa: E402
from autograder.grading.reference import get_reference, trusted_warm, with_grader_parameters  # noqa: E402
from autograder.run.notebooks import default_parameters, read_notebook  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("notebook", help="the notebook's stem, such as 01-python-numpy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(REPO, state_dir=Path(tmp) / "state")
        source = read_notebook(settings.source_notebook(args.assignment, args.notebook))
        defaults = with_grader_parameters(settings, args.assignment, default_parameters(source))
        seeds = [defaults["seed"], *(defaults["seed"] + 1000 + i for i in range(settings.check_seeds - 1))]
        references = [
            get_reference(settings, args.assignment, args.notebook, {**defaults, "seed": s}) for s in seeds
        ]
        generate_release(settings, args.assignment, Path(tmp) / "release")  # the gradebook knows it
        release = read_notebook(layout.release_dir(REPO, args.assignment) / f"{args.notebook}.ipynb")
        warm = trusted_warm(settings, settings.source_notebook(args.assignment, args.notebook))
        report = CheckReport()
        check_misconceptions(settings, source, release, references, warm=warm, report=report)
        for problem in report.problems:
            print(f"PROBLEM {problem}")
        for item in notebook_misconceptions(settings, args.assignment, args.notebook):
            for reference in references:
                values = get_mistake(settings, args.assignment, args.notebook, item, reference.parameters)
                checks = reference.cells.get(item.exercise, {}).get("checks", {})
                failed = [
                    name
                    for name, entry in checks.items()
                    if name in values.checks
                    and not compare(values.checks[name]["value"], expected_for(entry), entry["spec"]).passed
                ]
                seed = reference.parameters["seed"]
                print(f"{item.name} seed {seed}: fails {', '.join(failed) or 'nothing'}")
        return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
