"""The table of backbones, filled by the family modules of this package.

Each entry's target builds the full ImageNet network (an :class:`Encoder`);
its ``weights`` (a :class:`~weaksal.backbones.weights.WeightsSource`) say
where the published ImageNet checkpoint lives.
"""

from __future__ import annotations

from weaksal.plumbing.registry import Registry

BACKBONES = Registry("backbone", discover="weaksal.backbones")
