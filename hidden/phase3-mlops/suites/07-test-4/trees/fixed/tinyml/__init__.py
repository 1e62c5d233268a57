"""tinyml: a very small machine-learning toolkit in pure Python."""

from .metrics import accuracy, precision, recall
from .neighbors import KNNClassifier
from .preprocessing import StandardScaler
from .utils import batches

__all__ = ["KNNClassifier", "StandardScaler", "accuracy", "batches", "precision", "recall"]
__version__ = "0.2.0"
