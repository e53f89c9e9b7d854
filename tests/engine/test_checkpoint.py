import random

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from weaksal.engine.checkpoint import (
    TRAINER_STATE,
    latest_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
)
from weaksal.plumbing.errors import CheckpointError


def make_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))


def train_steps(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    """Each step draws from every global RNG, so a resume is exact only if all are restored."""
    model.train()
    for _ in range(steps):
        x = torch.randn(8, 4) + float(np.random.rand()) + random.random()
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_round_trip_weights_optimizer_and_state(tmp_path):
    model = make_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    train_steps(model, optimizer, 1)
    path = save_checkpoint(
        tmp_path, 1, {"net": model}, {"opt": optimizer}, {"epoch": 0, "best": torch.tensor(0.5)}
    )
    assert path == tmp_path / "checkpoints" / "step-00000001"
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "step-00000001"
    assert sorted(p.name for p in path.iterdir()) == ["net.safetensors", TRAINER_STATE]
    torch.load(path / TRAINER_STATE, weights_only=True)  # safe to open

    fresh = make_mlp(seed=1)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=1e-2)
    state = load_checkpoint(path, {"net": fresh}, {"opt": fresh_opt})
    assert state["epoch"] == 0 and torch.equal(state["best"], torch.tensor(0.5))
    assert_same_weights(model, fresh)
    for p_old, p_new in zip(model.parameters(), fresh.parameters(), strict=True):
        old, new = optimizer.state[p_old], fresh_opt.state[p_new]
        assert torch.equal(old["exp_avg"], new["exp_avg"])
        assert torch.equal(old["exp_avg_sq"], new["exp_avg_sq"])
        assert torch.equal(old["step"], new["step"])


def test_resume_continues_bitwise_like_never_stopping(tmp_path):
    seed_all(0)
    straight = make_mlp()
    straight_opt = torch.optim.Adam(straight.parameters(), lr=1e-2)
    seed_all(123)
    train_steps(straight, straight_opt, 6)

    seed_all(0)
    first = make_mlp()
    first_opt = torch.optim.Adam(first.parameters(), lr=1e-2)
    seed_all(123)
    train_steps(first, first_opt, 3)
    path = save_checkpoint(tmp_path, 3, {"net": first}, {"opt": first_opt}, {"step": 3})
    seed_all(999)  # a new process starts from other RNG states
    second = make_mlp(seed=5)
    second_opt = torch.optim.Adam(second.parameters(), lr=1e-2)
    assert load_checkpoint(path, {"net": second}, {"opt": second_opt}) == {"step": 3}
    train_steps(second, second_opt, 3)
    assert_same_weights(straight, second)


def test_rng_restore_can_be_skipped(tmp_path):
    model = make_mlp()
    seed_all(0)
    path = save_checkpoint(tmp_path, 0, {"net": model})
    expected = torch.rand(3), np.random.rand(), random.random()
    load_checkpoint(path, {"net": model})
    assert torch.equal(torch.rand(3), expected[0])
    assert np.random.rand() == expected[1] and random.random() == expected[2]
    load_checkpoint(path, {"net": model}, restore_rng=False)
    assert not torch.equal(torch.rand(3), expected[0])


def test_tied_and_view_weights_are_saved(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(5, 3)
            self.head = nn.Linear(3, 5, bias=False)
            self.head.weight = self.embed.weight
            self.register_buffer("tail", torch.arange(10.0)[5:])

    model = Tied()
    path = save_checkpoint(tmp_path, 2, {"tied": model})
    assert load_file(path / "tied.safetensors").keys() == model.state_dict().keys()
    other = Tied()
    load_checkpoint(path, {"tied": other})
    assert_same_weights(model, other)
    assert other.head.weight is other.embed.weight


def test_keep_prunes_old_steps_and_resave_replaces(tmp_path):
    model = make_mlp()
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, {"net": model}, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["latest", "step-00000030", "step-00000040"]
    # Saving an earlier step again (a resume from it) replaces that folder, and
    # pruning keeps it as `latest` although a higher step exists.
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    path = save_checkpoint(tmp_path, 30, {"net": model}, keep=1)
    assert latest_checkpoint(tmp_path) == path
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["latest", "step-00000030", "step-00000040"]
    assert torch.equal(load_file(path / "net.safetensors")["0.weight"], torch.ones(16, 4))


def test_latest_ignores_leftover_temp_dirs(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    path = save_checkpoint(tmp_path, 5, {"net": make_mlp()})
    checkpoints = tmp_path / "checkpoints"
    (checkpoints / ".step-00000009.abc.part").mkdir()  # a save killed half-way
    (checkpoints / ".step-00000009.abc.part" / "net.safetensors").write_bytes(b"half")
    (checkpoints / "step-00000008").mkdir()  # incomplete: no trainer state
    assert latest_checkpoint(tmp_path) == path
    (checkpoints / "latest").unlink()
    assert latest_checkpoint(tmp_path) == path
    (checkpoints / "latest").write_text("step-00000099\n")  # points at nothing
    assert latest_checkpoint(tmp_path) == path
    save_checkpoint(tmp_path, 6, {"net": make_mlp()})
    assert not (checkpoints / ".step-00000009.abc.part").exists()


def test_non_writer_rank_writes_nothing(tmp_path):
    path = save_checkpoint(tmp_path, 7, {"net": make_mlp()}, is_writer=False)
    assert path == tmp_path / "checkpoints" / "step-00000007"
    assert not (tmp_path / "checkpoints").exists()


def test_corrupt_weights_raise_checkpoint_error(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"net": make_mlp()})
    weights = path / "net.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="net.safetensors: cannot be read"):
        load_checkpoint(path, {"net": make_mlp()})
    weights.unlink()
    with pytest.raises(CheckpointError, match="net.safetensors: weights file not found"):
        load_checkpoint(path, {"net": make_mlp()})


def test_mismatched_model_names_file_and_keys(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"net": make_mlp()})
    wider = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 1))
    with pytest.raises(CheckpointError) as info:
        load_weights(path / "net.safetensors", wider)
    message = str(info.value)
    assert "net.safetensors" in message and "0.weight (16, 4) vs model (32, 4)" in message
    deeper = nn.Sequential(*make_mlp(), nn.Linear(1, 1))
    with pytest.raises(CheckpointError, match=r"net.safetensors.*missing keys: 4.weight, 4.bias"):
        load_checkpoint(path, {"net": deeper})
    with pytest.raises(CheckpointError, match="no optimizer 'opt'"):
        model = make_mlp()
        load_checkpoint(path, {"net": model}, {"opt": torch.optim.SGD(model.parameters(), 0.1)})


def test_corrupt_trainer_state_and_unsafe_state(tmp_path):
    model = make_mlp()
    path = save_checkpoint(tmp_path, 1, {"net": model})
    (path / TRAINER_STATE).write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="trainer_state.pt: cannot be read safely"):
        load_checkpoint(path, {"net": model})
    with pytest.raises(CheckpointError, match="weights_only=True"):
        save_checkpoint(tmp_path, 2, {"net": model}, state={"bad": object()})
    assert latest_checkpoint(tmp_path) == path
    assert not any(p.name.startswith(".step-") for p in (tmp_path / "checkpoints").iterdir())
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        load_checkpoint(tmp_path, {"net": model})
