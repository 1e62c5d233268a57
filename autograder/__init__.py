"""Autograded, mastery-gated curriculum for machine-learning developers.

The trust boundary is the folder: the modules at this top level are the ones a learner's
kernel imports (``checks``, ``hints``, ``serving``, ``datasets``, and the value encoding and
comparators the kernel shares with the grader), plus ``cli`` and ``errors``. Everything a
learner must not be able to patch lives in the subpackages, in the order a grading reads:
``course`` (settings, manifest) -> ``run`` (papermill runs in the sandbox) -> ``grading``
(references, comparison, scores, gradebook, evidence) -> ``views`` (mastery, pages).
"""

import sys

__version__ = "0.1.0"

# jsonschema imports rfc3987_syntax (for its "iri" format checker) when installed, and that
# import compiles a grammar for 1.6 s in every process we start: the CLI, each grader, each
# Dask worker. Nothing of ours checks "iri" formats; jsonschema skips the checker without it.
# (jsonschema issue 1428; JupyterLab's own server process is not affected.)
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
