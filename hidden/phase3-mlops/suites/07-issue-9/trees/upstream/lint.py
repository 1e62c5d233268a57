"""ruff over the patched library and tests, with the project's rules but none of its files:
--isolated ignores any configuration, --ignore-noqa any `# noqa` comment."""
import subprocess
import sys

RULES = ["--select", "E,F,W,B,UP", "--ignore", "B905", "--line-length", "100", "--target-version", "py310"]
done = subprocess.run(
    [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--ignore-noqa", *RULES,
     "--output-format", "concise", "tinyml", "tests"],
    cwd="repo",
)
sys.exit(done.returncode)
