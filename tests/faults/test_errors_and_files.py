"""Faults: errors that cross process boundaries, file modes, stale temporaries (issue 15, defects 6 and 8)."""

from __future__ import annotations

import os
import pickle
import stat
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from weaksal.plumbing import atomic
from weaksal.plumbing.atomic import write_json, write_png
from weaksal.plumbing.errors import CorruptFileError, DataError, SizeMismatchError


@pytest.mark.parametrize("cls", [DataError, CorruptFileError, SizeMismatchError])
def test_errors_survive_pickling_with_every_field(cls):
    error = cls("/data/a.png", "cannot decode image", "re-export it")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert (copy.path, copy.problem, copy.fix) == (error.path, error.problem, error.fix)
    assert str(copy) == str(error)


def _raise_corrupt(path: str) -> None:
    raise CorruptFileError(path, "cannot decode image", "re-export it")


def test_an_error_in_a_worker_process_reaches_the_parent_by_name():
    with ProcessPoolExecutor(1) as pool:
        future = pool.submit(_raise_corrupt, "/data/broken.png")
        with pytest.raises(CorruptFileError, match="broken.png: cannot decode image"):
            future.result()


def test_an_error_rebuilt_from_a_data_loader_message_keeps_the_one_line_message():
    # torch's DataLoader rebuilds a worker's exception as exc_type(message)
    original = CorruptFileError("/data/b.jpg", "cannot decode image (truncated)", "re-export it")
    wrapped = f"Caught CorruptFileError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n  File x\nweaksal.plumbing.errors.CorruptFileError: {original}\n"
    rebuilt = CorruptFileError(wrapped)
    assert str(rebuilt) == str(original)
    assert rebuilt.path.name == "b.jpg"


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_written_files_honour_the_umask(tmp_path, umask_022):
    import torch

    from weaksal.models import save_model

    write_png(tmp_path / "map.png", np.zeros((4, 4), np.uint8))
    write_json(tmp_path / "run.json", {"a": 1})
    spec = {"architecture": "snet", "backbone": "efficientnet_lite0", "input_size": 64}
    from weaksal.models import create_model

    torch.manual_seed(0)
    save_model(tmp_path / "model.safetensors", create_model(spec, pretrained="none"), spec)
    for name in ("map.png", "run.json", "model.safetensors"):  # safetensors writes its own file
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_checkpoint_folders_honour_the_umask(tmp_path, umask_022):
    import torch

    from weaksal.engine.checkpoint import save_checkpoint

    final = save_checkpoint(tmp_path, 1, {"model": torch.nn.Linear(2, 2)})
    assert stat.S_IMODE(final.stat().st_mode) == 0o755
    assert stat.S_IMODE((final / "model.safetensors").stat().st_mode) == 0o644


def test_stale_temporaries_of_a_killed_write_are_removed(tmp_path):
    stale = tmp_path / ".map.png.abc123.part"
    stale.write_bytes(b"half")
    old = 1_000_000_000
    os.utime(stale, (old, old))
    fresh = tmp_path / ".other.png.def456.part"  # maybe another live writer: kept
    fresh.write_bytes(b"live")
    keep = tmp_path / "map.png"
    keep.write_bytes(b"done")
    assert atomic.clean_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and fresh.exists() and keep.exists()
