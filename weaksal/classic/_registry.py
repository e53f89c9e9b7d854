"""The table of classical detectors, filled by the detector modules of this package."""

from __future__ import annotations

from weaksal.plumbing.registry import Registry

#: name -> detector function ``(RGB uint8 (H, W, 3)) -> uint8 (H, W)``; info: ``reference``
DETECTORS = Registry("detector", discover="weaksal.classic")
