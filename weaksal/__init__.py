"""weaksal: salient object detection from weak supervision, and its evaluation."""

__version__ = "0.1.0"
