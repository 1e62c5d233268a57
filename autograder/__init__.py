"""Autograded, mastery-gated curriculum for machine-learning developers.

The package is laid out as the grading pipeline reads: ``curriculum`` (the manifest) ->
``checks`` (the in-kernel helper) -> ``execute`` (papermill runs) -> ``reference``
(solution values per parameter set) -> ``compare`` (trusted comparison) -> ``grade`` ->
``gradebook`` and ``evidence`` -> ``mastery`` -> ``feedback`` and ``report``.
"""

import sys

__version__ = "0.1.0"

# jsonschema imports rfc3987_syntax (for its "iri" format checker) when installed, and that
# import compiles a grammar for 1.6 s in every process we start: the CLI, each grader, each
# Dask worker. Nothing of ours checks "iri" formats; jsonschema skips the checker without it.
# (jsonschema issue 1428; JupyterLab's own server process is not affected.)
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
