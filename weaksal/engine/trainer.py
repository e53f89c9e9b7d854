"""The training engine: devices, precision, processes, run files, checkpoints, logs, validation.

Lightning Fabric owns the plumbing (CPU/CUDA/MPS, mixed precision, DDP under
``torchrun``); the method keeps its loop body explicit::

    trainer = Trainer(config, run_dir)
    model, optimizer = trainer.setup("snet", model, optimizer)
    batches = trainer.loader(dataset, batch_size, steps)      # starts where a resumed run stopped
    for step, batch in zip(trainer.steps(steps), batches):
        loss = ...
        trainer.backward(loss); optimizer.step(); optimizer.zero_grad()
        trainer.log(loss=loss)

Resuming reloads weights, optimizer states, the RNG states and the step
counter; data order and augmentation are functions of (seed, step), so a run
killed at any point and resumed ends with the weights of one that never
stopped (bitwise on CPU).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from weaksal.engine.batches import step_loader
from weaksal.engine.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from weaksal.engine.config import write_run_files
from weaksal.engine.schema import EngineSection
from weaksal.plumbing.atomic import write_text

#: the engine section's defaults (typed in :class:`weaksal.engine.schema.EngineSection`)
ENGINE_DEFAULTS: dict[str, Any] = dataclasses.asdict(EngineSection())


class Trainer:
    """One training run in ``run_dir``; see the module docstring for the loop it serves."""

    def __init__(self, config: Mapping[str, Any], run_dir: str | Path, resume: bool = True) -> None:
        from lightning.fabric import Fabric

        self.config = config
        self.settings = {**ENGINE_DEFAULTS, **config.get("engine", {})}
        self.run_dir = Path(run_dir)
        self.seed = int(config.get("seed", 0))
        s = self.settings
        self.fabric = Fabric(
            accelerator=s["accelerator"],
            devices=s["devices"],
            strategy=s["strategy"],
            precision=s["precision"],
        )
        self.fabric.launch()
        if s["deterministic"]:
            torch.use_deterministic_algorithms(True)
        self.fabric.seed_everything(self.seed, workers=True, verbose=False)
        self.is_writer = self.fabric.global_rank == 0
        if resume:
            self._use_the_run_thread_count()
        if self.is_writer:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_run_files(self.run_dir, config, self.seed)
        self.fabric.barrier()
        self.models: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.resume = resume
        self.start_step = 0
        self.step = 0
        self.best: dict[str, Any] = {}
        self._sums: dict[str, float] = {}
        self._count = 0
        self._restored = False

    def _use_the_run_thread_count(self) -> None:
        """A resumed CPU run computes with as many threads as the run it continues.

        CPU kernels split their reductions by thread, so another thread count
        gives other rounding (about 1e-8 a step, growing with training): the
        resume would not be exact. The count is in ``run.json`` since the start.
        """
        try:
            recorded = json.loads((self.run_dir / "run.json").read_text(encoding="utf-8"))
            threads = int(recorded["torch_threads"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if self.fabric.device.type == "cpu" and threads != torch.get_num_threads():
            self.print(
                f"using {threads} CPU threads as the run this resumes (not {torch.get_num_threads()})"
            )
            torch.set_num_threads(threads)

    # -- setup --------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.fabric.device

    def setup(self, name: str, model: nn.Module, optimizer: torch.optim.Optimizer | None = None):
        """Move ``model`` (and its optimizer) to the device, wrap for DDP/precision; keep for checkpoints."""
        self.models[name] = model
        if optimizer is None:
            return self.fabric.setup_module(model)
        self.optimizers[name] = optimizer
        return self.fabric.setup(model, optimizer)

    def restore(self) -> int:
        """Load the newest checkpoint of this run (if resuming and one exists); return the start step."""
        self._restored = True
        checkpoint = latest_checkpoint(self.run_dir) if self.resume else None
        if checkpoint is not None:
            state = load_checkpoint(
                checkpoint, self.models, self.optimizers, map_location=self.device
            )
            self.start_step = int(state["step"])
            self.best = dict(state.get("best", {}))
            self.print(f"resumed from {checkpoint} at step {self.start_step}")
        self.step = self.start_step
        if self.is_writer:
            self._forget_metrics_after(self.start_step)
        return self.start_step

    def _forget_metrics_after(self, step: int) -> None:
        """Drop log lines of steps after ``step``: a resumed run logs them again.

        A run killed after its last checkpoint had logged steps it will now
        redo; without this, ``metrics.jsonl`` would hold those steps twice.
        """
        path = self.run_dir / "metrics.jsonl"
        if not path.is_file():
            return
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut by the kill
            if not isinstance(record, dict) or int(record.get("step", 0)) <= step:
                kept.append(line)
        if kept != lines:
            write_text(path, "".join(f"{line}\n" for line in kept))

    def loader(
        self, dataset: Dataset, batch_size: int, steps: int, seed_offset: int = 0
    ) -> DataLoader:
        """Batches of one data source for the remaining steps; ``batch_size`` is global."""
        if not self._restored:
            self.restore()
        return step_loader(
            dataset,
            batch_size,
            self.seed + seed_offset,
            self.start_step,
            steps,
            self.fabric.global_rank,
            self.fabric.world_size,
            self.settings["workers"],
        )

    # -- loop ---------------------------------------------------------------
    def steps(
        self,
        total: int,
        validate: Callable[[], dict[str, float]] | None = None,
        best_key: str | None = None,
        on_best: Callable[[int], None] | None = None,
    ) -> Iterator[int]:
        """Step numbers from the resumed step to ``total``; logs, validates, checkpoints in between.

        ``validate`` returns metrics (higher ``best_key`` is better; keys containing
        "mae" or "loss" are lower-is-better); ``on_best(step)`` runs on rank 0 when
        the validation score improves, e.g. to export the best model.
        """
        from tqdm import tqdm

        if not self._restored:
            self.restore()
        s = self.settings
        bar = tqdm(
            total=total,
            initial=self.start_step,
            disable=not self.is_writer,
            dynamic_ncols=True,
            desc=self.run_dir.name,
        )
        self._tick = time.perf_counter()
        for step in range(self.start_step, total):
            self.step = step
            yield step
            done = step + 1
            self.step = done
            bar.update(1)
            if done % s["log_every"] == 0 or done == total:
                bar.set_postfix(self._flush_log(done), refresh=False)
            if validate is not None and (
                (s["val_every"] and done % s["val_every"] == 0) or done == total
            ):
                self._validate(done, validate, best_key, on_best)
            if done % s["checkpoint_every"] == 0 or done == total:
                self.save_checkpoint(done)
        bar.close()
        if self.is_writer and (self.run_dir / "metrics.jsonl").is_file():
            from weaksal.engine.log_views import write_views

            write_views(self.run_dir / "metrics.jsonl")  # logs/metrics.csv, rebuilt whole

    def backward(self, loss: torch.Tensor) -> None:
        self.fabric.backward(loss)

    def log(self, **scalars: float | torch.Tensor) -> None:
        """Accumulate scalars; their means since the last line go to ``metrics.jsonl``."""
        for key, value in scalars.items():
            value = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"{key} is {value} at step {self.step} of {self.run_dir}; the last checkpoint"
                    " is intact: lower the learning rate or use precision 32-true, then resume"
                )
            self._sums[key] = self._sums.get(key, 0.0) + value
        self._count += 1

    def write_metrics(self, record: Mapping[str, Any]) -> None:
        if not self.is_writer:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps({"time": round(time.time(), 3), **record}) + "\n")

    def print(self, message: str) -> None:
        if self.is_writer:
            from tqdm import tqdm

            tqdm.write(message)

    def save_checkpoint(self, step: int) -> None:
        save_checkpoint(
            self.run_dir,
            step,
            self.models,
            self.optimizers,
            {"step": step, "best": self.best},
            keep=self.settings["keep_checkpoints"],
            is_writer=self.is_writer,
        )
        self.fabric.barrier()

    # -- internals ------------------------------------------------------------
    def _flush_log(self, step: int) -> dict[str, float]:
        means = {k: v / max(self._count, 1) for k, v in self._sums.items()}
        now = time.perf_counter()
        record = {
            "step": step,
            **{k: round(v, 6) for k, v in means.items()},
            "seconds_per_step": round((now - self._tick) / max(self._count, 1), 4),
        }
        self._tick, self._sums, self._count = now, {}, 0
        self.write_metrics(record)
        return {k: round(v, 4) for k, v in means.items()}

    def _validate(self, step, validate, best_key, on_best) -> None:
        metrics = validate()
        self.write_metrics({"step": step, **{f"val/{k}": v for k, v in metrics.items()}})
        self.print(f"step {step}: " + ", ".join(f"val {k} {v:.4f}" for k, v in metrics.items()))
        if best_key is None:
            return
        value = metrics[best_key]
        lower_is_better = "mae" in best_key or "loss" in best_key
        previous = self.best.get("value")
        improved = previous is None or (value < previous if lower_is_better else value > previous)
        if improved and math.isfinite(value):
            self.best = {"key": best_key, "value": value, "step": step}
            if on_best is not None and self.is_writer:
                on_best(step)
        self.fabric.barrier()
