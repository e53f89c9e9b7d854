"""weaksal: salient object detection from weak supervision, and its evaluation.

The Python face of the toolkit (each is also a command, see the README):

>>> import weaksal
>>> wss = weaksal.load("wss")                 # a shipped model, a classic ("mr"), or a file
>>> saliency = wss("photo.jpg")               # float32 (H, W) in [0, 1], the photo's size
>>> promoted = weaksal.load("mr", promote="lps")(pil_image)
>>> table = weaksal.evaluate("maps/", "ECSSD/")   # table["maps", "ECSSD"]["maxf"]
>>> weaksal.list_models()                     # the shipped models' records (ModelInfo)
>>> weaksal.cutout("photo.jpg").save("cutout.png")     # RGBA, edges on the photo's
>>> weaksal.classic_folder("mr", "photos/", "maps/")    # every command is a function too
>>> weaksal.train("wss", "runs/mine", images="my_photos/")   # tags in my_photos/tags.csv

Names are imported on first use, so ``import weaksal`` stays light (an
evaluation-only install has no torch).
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

#: public name -> (module, attribute)
_EXPORTS = {
    # detectors and maps
    "load": ("weaksal.api.detectors", "load"),
    "Detector": ("weaksal.api.detectors", "Detector"),
    "Promotion": ("weaksal.api.detectors", "Promotion"),
    "Segmenter": ("weaksal.api.detectors", "Segmenter"),
    "as_rgb": ("weaksal.data.inputs", "as_rgb"),
    "as_map": ("weaksal.data.inputs", "as_map"),
    "render": ("weaksal.data.render", "render"),
    "cutout": ("weaksal.api.cutout", "cutout"),
    "list_models": ("weaksal.pretrained", "list_models"),
    # one function per command that writes a folder (each returns a FolderReport)
    "predict_folder": ("weaksal.api.predict", "predict_folder"),
    "promote_folder": ("weaksal.api.promote", "promote_folder"),
    "classic_folder": ("weaksal.api.folders", "classic_folder"),
    "refine_folder": ("weaksal.api.folders", "refine_folder"),
    "FolderReport": ("weaksal.api.folders", "FolderReport"),
    # training, evaluation, data
    "train": ("weaksal.api.training", "train"),
    "evaluate": ("weaksal.metrics.evaluation", "evaluate"),
    "Evaluation": ("weaksal.metrics.evaluation", "Evaluation"),
    "check": ("weaksal.data.check", "check_dataset"),
    "WeaksalError": ("weaksal.plumbing.errors", "WeaksalError"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'weaksal' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
