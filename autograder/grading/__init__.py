"""Grading: reference values from the solution, the reports a run's test cells made, their
comparison, a submission's score, a batch's, nbgrader's gradebook and the evidence records.

Trusted code only; it reads what a learner's kernel reported as data, never as code.
"""
