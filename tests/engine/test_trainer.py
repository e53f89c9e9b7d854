"""The Trainer in-process: two data sources, two models and optimisers, exact resume."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from weaksal.engine.trainer import Trainer


class Points(Dataset):
    def __init__(self, n: int, seed: int) -> None:
        self.x = torch.randn(n, 4, generator=torch.Generator().manual_seed(seed))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict:
        return {"x": self.x[index], "index": index}


CONFIG = {
    "seed": 7,
    "engine": {
        "accelerator": "cpu",
        "workers": 0,
        "checkpoint_every": 2,
        "log_every": 1,
        "keep_checkpoints": 3,
    },
}


def _train(run_dir, total: int = 7, crash_after: int | None = None) -> dict[str, torch.Tensor]:
    trainer = Trainer(CONFIG, run_dir)
    student = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    teacher = nn.Linear(4, 1)
    student, opt_s = trainer.setup("student", student, torch.optim.Adam(student.parameters(), 1e-2))
    teacher, opt_t = trainer.setup(
        "teacher", teacher, torch.optim.SGD(teacher.parameters(), 0.1, momentum=0.9)
    )
    labelled = trainer.loader(Points(10, 0), 4, total)
    unlabelled = trainer.loader(Points(7, 1), 3, total, seed_offset=1)
    for step, tagged, plain in zip(trainer.steps(total), labelled, unlabelled, strict=False):
        loss = (student(tagged["x"]) - 1).pow(2).mean()
        loss = loss + (teacher(plain["x"]) - student(plain["x"]).detach()).pow(2).mean()
        trainer.backward(loss)
        for optimizer in (opt_s, opt_t):
            optimizer.step()
            optimizer.zero_grad()
        trainer.log(loss=loss)
        if crash_after is not None and step + 1 == crash_after:
            break  # dies after step 5 is applied but before its checkpoint (every 2 steps)
    return {
        f"{name}.{k}": v.clone()
        for name, model in (("s", student), ("t", teacher))
        for k, v in model.state_dict().items()
    }


def test_crash_between_checkpoints_then_resume_is_exact(tmp_path):
    straight = _train(tmp_path / "straight")
    _train(tmp_path / "crashed", crash_after=5)
    assert (tmp_path / "crashed/checkpoints/latest").read_text().strip() == "step-00000004"
    resumed = _train(tmp_path / "crashed")
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    fresh_start = _train(tmp_path / "other", total=7, crash_after=None)
    assert torch.equal(fresh_start["s.0.weight"], straight["s.0.weight"])  # same seed, same run
