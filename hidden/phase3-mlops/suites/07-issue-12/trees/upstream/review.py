"""Apply the learner's patch series to a fresh clone of upstream, as a maintainer would.

Usage: python review.py ISSUE [--quiet]. Clones upstream's bundle into ./repo, applies
patches/*.patch in order with `git am`, then refuses a series that touches the test
harness or the tooling's configuration, has no test, or never says `Closes #ISSUE`.
Exit code 0 only when all is well; the output says what is wrong.
"""
import gzip
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

ISSUE = int(sys.argv[1])
QUIET = "--quiet" in sys.argv
GIT = "/usr/bin/git"
FORBIDDEN_NAMES = {
    "conftest.py", "pyproject.toml", "ruff.toml", ".ruff.toml", "setup.cfg", "setup.py",
    "pytest.ini", "tox.ini", ".pre-commit-config.yaml", "sitecustomize.py", "usercustomize.py",
    ".gitattributes", ".gitmodules", "noxfile.py",
}


def git(*args, cwd="repo"):
    return subprocess.run([GIT, *args], cwd=cwd, capture_output=True, text=True)


def fail(message):
    print("review: " + message)
    sys.exit(1)


patches = sorted(Path("patches").glob("*.patch"))
if not patches:
    fail("no patches/*.patch file to apply")
# upstream's bundle, stored compressed: the released data file holds the same bytes
Path("upstream.bundle").write_bytes(gzip.decompress(Path("upstream.bundle.gz").read_bytes()))
cloned = git("clone", "-q", "upstream.bundle", "repo", cwd=".")
if cloned.returncode:
    fail("could not clone upstream: " + cloned.stderr[-300:])
base = git("rev-parse", "HEAD").stdout.strip()
applied = git("am", "--quiet", *[str(p.resolve()) for p in patches])
if applied.returncode:
    git("am", "--abort")
    print((applied.stdout + applied.stderr)[-300:].rstrip())
    fail(
        "`git am` could not apply your series to upstream's main: rebase onto upstream first, "
        "then run git format-patch again."
    )
commits = git("rev-list", "--reverse", f"{base}..HEAD").stdout.split()
if not commits:
    fail("the series adds no commit")
changed = git("diff", "--name-only", "--no-renames", base, "HEAD").stdout.split("\n")
changed = [c for c in changed if c]
for name in changed:
    path = PurePosixPath(name)
    if path.name in FORBIDDEN_NAMES or path.suffix == ".pth":
        fail(f"{name}: a pull request for an issue does not change configuration or test plumbing")
    if name.startswith(".github/") or name.startswith("tests/hidden/") or "/hidden/" in name:
        fail(f"{name}: that folder belongs to the maintainers and their CI")
    mode = git("ls-tree", "HEAD", "--", name).stdout.split(" ")[0]
    if mode and mode not in ("100644", "100755"):
        fail(f"{name}: only regular files, please (no symlinks or submodules)")
if not any(re.fullmatch(r"tests/(.*/)?test_[^/]*\.py", n) for n in changed):
    fail("the series adds no test: a bug fix comes with a regression test under tests/")
if not any(n.startswith("tinyml/") and n.endswith(".py") for n in changed):
    fail("the series does not change the library (tinyml/)")
messages = [git("log", "-1", "--format=%B", c).stdout for c in commits]
if not any(re.search(rf"\b(Closes|Fixes|Resolves) #{ISSUE}\b", m, re.IGNORECASE) for m in messages):
    fail(f"no commit message says `Closes #{ISSUE}`")
for c, m in zip(commits, messages):
    summary = m.strip().splitlines()[0] if m.strip() else ""
    if not summary or len(summary) > 72:
        fail(f"commit {c[:10]}: its summary line must have 1 to 72 characters")
if not QUIET:
    print(f"review: {len(commits)} commit(s) apply cleanly and touch {', '.join(changed)}")
