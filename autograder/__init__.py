"""Autograded, mastery-gated curriculum for machine-learning developers.

The package is laid out as the grading pipeline reads: ``curriculum`` (the manifest) ->
``checks`` (the in-kernel helper) -> ``execute`` (papermill runs) -> ``reference``
(solution values per parameter set) -> ``compare`` (trusted comparison) -> ``grade`` ->
``gradebook`` and ``evidence`` -> ``mastery`` -> ``feedback`` and ``report``.
"""

__version__ = "0.1.0"
