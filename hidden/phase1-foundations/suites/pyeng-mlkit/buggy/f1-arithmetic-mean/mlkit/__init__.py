"""mlkit (a colleague's layout)."""
__version__ = "0.1.0"

from mlkit.metrics import accuracy, precision, recall, f1  # noqa: E402

__all__ = ("accuracy", "f1", "precision", "recall")
