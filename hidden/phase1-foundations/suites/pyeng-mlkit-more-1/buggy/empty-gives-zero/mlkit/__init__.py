"""mlkit: metrics for the team's models."""
from . import metrics
from .metrics import accuracy, precision, recall, f1  # the public names

__version__ = "0.1.0"
