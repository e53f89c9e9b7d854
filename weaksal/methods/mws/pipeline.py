"""MWS (Zeng et al., CVPR 2019): saliency from tags, captions and unlabelled images.

The pipeline, one cached stage each (``weaksal.engine.stages``)::

    init        CNet on tags (L_c, Eq. 5), PNet on captions (L_p, Eq. 6), each alone
                (the paper's Cls / Cap / Avg rows; the code's train_clssal/capsal)
    transfer    both, from init, + attention transfer L_at (Eq. 7)  (row "+AT")
    coherence   both, from init, + L_at + attention coherence L_ac
                (Eq. 8-9) on unlabelled images: the whole L of Eq. 10  (row "+AC")
    labels      mean of the two maps -> dense CRF (preset ``mws``) -> binary
    snet        SNet on the labels, bootstrapping loss L_b (Eq. 11)  (row "Sal")
    labels2, snet2, ...  ours, not the paper's: further self-training rounds, each on
                the last SNet's maps refined by ``labels.refine_later`` (WSS's
                iterative CRF in the fpn config: the dense CRF erodes SNet's sharp
                maps), validated on held-out masks; the best round ships

Sources plug in: without captions there is no PNet (and no transfer), without
tags no CNet, without unlabelled images no coherence stage; the labels come
from the last attention stage that ran. The map terms act on the attention
maps (stride 16 with the paper decoder, ``model.attention_decoder``): the regulariser ``-beta log(1 - s)``, ``L_at`` (the other network's
map, binarised at 2x its mean as the code or at 0.5 as the paper) and
``L_ac`` (seeds in both maps -> manifold ranking on SLIC regions -> binary
mask, pooled to the map grid).

Loss scales follow the authors' code, not the sums the paper's equations
write: every map term is a cross-entropy averaged over positions, the tag loss
is averaged over classes (``MultiLabelSoftMarginLoss``) and the caption loss
over words. With the paper's per-position sums, beta = 0.005 kills PNet's map
within 30 steps on COCO-MINI (measured: mean s < 1e-6), so the map carries no
image information and captions are decoded from the language prior alone.
Training never reads a training mask; the labels stage reports their
quality against them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from weaksal.classic.superpixels import slic_superpixels
from weaksal.data.augment import flip_generator, random_hflip
from weaksal.data.layouts import Sample
from weaksal.data.sources import source_samples
from weaksal.data.weak import (
    CaptionedImages,
    TaggedImages,
    UnlabelledImages,
    build_vocabulary,
    tag_classes,
    tagged_samples,
)
from weaksal.engine.loop import engine_device, network_spec, prepare_images
from weaksal.engine.optim import build_optimizer, guarded_step, set_lr
from weaksal.engine.schema import (
    resolve_config,
)
from weaksal.engine.stages import Stage, run_pipeline, start_pipeline
from weaksal.engine.trainer import Trainer
from weaksal.methods.evaluation import kept_model
from weaksal.methods.mws.config import SECTIONS
from weaksal.methods.mws.losses import binarise, coherence_targets, map_bce, sparsity_loss
from weaksal.methods.pseudo_labels import make_labels, require_refiners
from weaksal.methods.self_training import fit_round, held_out, ship_best_round
from weaksal.models import MapAverage, create_model, load_model, save_model
from weaksal.nn.losses import multilabel_loss
from weaksal.plumbing.atomic import write_json
from weaksal.plumbing.errors import WeaksalError

SNET = "snet.safetensors"  # a round's last weights (its best on val: best.safetensors)


# -- the attention networks ---------------------------------------------------
class Sources:
    """The configured supervision: tagged, captioned and unlabelled samples, classes, vocabulary."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        data = config["data"]
        self.tagged = tagged_samples(
            source_samples(data["tags"]), data["untagged"], "data.untagged"
        )
        self.captioned = source_samples(data["captions"])
        self.unlabelled = [s for entry in data["unlabelled"] or [] for s in source_samples(entry)]
        if not self.tagged and not self.captioned:
            raise WeaksalError(
                "MWS needs tags or captions: unlabelled images alone supervise nothing. "
                "Fix: set data.tags and/or data.captions in the config"
            )
        self.classes = tag_classes(self.tagged) if self.tagged else []
        self.vocabulary = (
            build_vocabulary(self.captioned, int(data["min_word_count"]))
            if self.captioned
            else None
        )

    def stages(self) -> list[str]:
        """The attention stages these sources allow, in order."""
        names = ["init"]
        if self.tagged and self.captioned:
            names.append("transfer")
        if self.unlabelled:
            names.append("coherence")
        return names


def network_specs(config: Mapping[str, Any], sources: Sources) -> dict[str, dict[str, Any]]:
    m = config["model"]
    attention = {**m, "decoder": m["attention_decoder"]}
    feature_dim = int(m["feature_dim"])
    specs = {}
    if sources.tagged:
        specs["cnet"] = network_spec(
            attention, "mws_cnet", "mws", feature_dim=feature_dim, classes=sources.classes
        )
    if sources.captioned:
        specs["pnet"] = network_spec(
            attention,
            "mws_pnet",
            "mws",
            feature_dim=feature_dim,
            hidden=int(m["hidden"]),
            vocabulary=sources.vocabulary.words,
            max_caption_length=int(config["data"]["max_caption_length"]),
        )
    return specs


def train_attention(
    config: dict[str, Any],
    folder: Path,
    sources: Sources,
    stage: str,
    init_dir: Path | None,
    resume: bool,
) -> dict[str, Any]:
    """One attention stage: CNet and/or PNet with the losses ``stage`` turns on.

    ``init`` trains each network on its own source; ``transfer`` adds L_at,
    ``coherence`` adds L_at and L_ac; both start from ``init_dir``'s networks.
    """
    section = "init" if stage == "init" else "joint"
    t, m = config[section], config["model"]
    stage_config = {**config, "stage": stage, "train": t}
    trainer = Trainer(stage_config, folder, resume)
    size = int(m["input_size"])
    channels_last = bool(config["engine"]["channels_last"])
    specs = network_specs(config, sources)
    raw, nets, optimizers = {}, {}, {}
    for name, spec in specs.items():
        network = create_model(spec, pretrained=m["pretrained"])
        if init_dir is not None:
            from safetensors.torch import load_file

            network.load_state_dict(load_file(str(init_dir / f"{name}.safetensors")))
        if channels_last:
            network = network.to(memory_format=torch.channels_last)
        raw[name] = network
        nets[name], optimizers[name] = trainer.setup(name, network, build_optimizer(network, t))
    transfer = stage != "init" and len(nets) == 2
    coherence = stage == "coherence"
    steps, batch = int(t["steps"]), int(t["batch_size"])
    loaders = {}
    if "cnet" in nets:
        loaders["tags"] = trainer.loader(
            TaggedImages(sources.tagged, sources.classes, size), batch, steps, 1
        )
    if "pnet" in nets:
        max_length = int(config["data"]["max_caption_length"])
        dataset = CaptionedImages(sources.captioned, sources.vocabulary, size, max_length)
        loaders["captions"] = trainer.loader(dataset, batch, steps, 2)
    if coherence:
        mr = config["coherence"]
        regions = partial(
            slic_superpixels, n_segments=int(mr["segments"]), compactness=float(mr["compactness"])
        )
        dataset = UnlabelledImages(sources.unlabelled, size, regions)
        loaders["unlabelled"] = trainer.loader(dataset, batch, steps, 3)
    w = config["weights"]
    rule = w["transfer_binarise"]

    def images_of(batch_: dict, step: int, offset: int, extra: Sequence[torch.Tensor] = ()):
        images = prepare_images(batch_["image"], trainer.device, channels_last)
        if not t["flip"]:
            return [images, *extra]
        return random_hflip(
            [images, *extra],
            flip_generator(trainer.seed + offset, step),
            trainer.fabric.global_rank,
            trainer.fabric.world_size,
        )

    def own_map_terms(saliency, images, name: str, pupil: str | None, terms, probe) -> None:
        """The regulariser on the labelled network's map, and L_at where it teaches ``pupil``."""
        terms[f"reg_{name[0]}"] = float(w["beta"]) * sparsity_loss(saliency)
        probability = torch.sigmoid(saliency.detach().float())
        probe[f"{name}_mean"] = float(probability.mean())
        if pupil is not None:  # on these images only ``name`` has labels: its map teaches
            other = nets[pupil](images).coarse
            terms[f"at_{pupil[0]}"] = float(w["transfer"]) * map_bce(
                other, binarise(probability, rule)
            )

    names = list(loaders)
    for step, *batches in zip(trainer.steps(steps), *loaders.values(), strict=False):
        got = dict(zip(names, batches, strict=True))
        lr = 0.0
        for optimizer in optimizers.values():
            lr = set_lr(optimizer, float(t["lr"]), step, steps, t["schedule"])
        terms: dict[str, torch.Tensor] = {}
        probe: dict[str, float] = {}
        if "tags" in got:
            (images,) = images_of(got["tags"], step, 1)
            out = nets["cnet"](images)
            logits, saliency = out.classes, out.coarse
            terms["cls"] = (
                multilabel_loss(  # averaged over classes: MultiLabelSoftMarginLoss
                    logits.float(), got["tags"]["tags"].to(trainer.device)
                )
                / logits.shape[1]
            )
            own_map_terms(saliency, images, "cnet", "pnet" if transfer else None, terms, probe)
        if "captions" in got:
            (images,) = images_of(got["captions"], step, 2)
            tokens = got["captions"]["tokens"].to(trainer.device)
            out = nets["pnet"](images, tokens)
            words, saliency = out.words, out.coarse
            terms["cap"] = F.cross_entropy(
                words.float().flatten(0, 1), tokens.flatten(), ignore_index=0
            )
            own_map_terms(saliency, images, "pnet", "cnet" if transfer else None, terms, probe)
        if "unlabelled" in got:
            images, regions = images_of(
                got["unlabelled"], step, 3, [got["unlabelled"]["regions"].to(trainer.device)]
            )
            coarse = [nets[name](images).coarse for name in nets]
            target = coherence_targets(
                images,
                [torch.sigmoid(c.float()) for c in coarse],
                regions,
                float(config["coherence"]["seed_factor"]),
            )
            terms["ac"] = float(w["coherence"]) * sum(map_bce(c, target) for c in coarse)
            probe["ac_target"] = float(target.mean())
        loss = sum(terms.values())
        parameters = [p for net in raw.values() for p in net.parameters()]
        stepped = guarded_step(trainer, _Joint(optimizers), parameters, loss, t["grad_clip"])
        trainer.log(
            **{k: (v if stepped else 0.0) for k, v in terms.items()},
            **probe,
            lr=lr,
            skipped=0.0 if stepped else 1.0,
        )
    if trainer.is_writer:
        for name, network in raw.items():
            save_model(folder / f"{name}.safetensors", network, specs[name])
    return {"networks": sorted(raw), "steps": steps, "transfer": transfer, "coherence": coherence}


class _Joint:
    """Several optimizers stepped as one (one loss, one backward, every network updated)."""

    def __init__(self, optimizers: Mapping[str, torch.optim.Optimizer]) -> None:
        self.optimizers = list(optimizers.values())

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=set_to_none)


def attention_average(
    stage_dir: Path, device: str | torch.device = "cpu", normalise: bool = False
) -> MapAverage:
    """The stage's networks (CNet and/or PNet) as one averaged saliency model."""
    files = [stage_dir / f"{name}.safetensors" for name in ("cnet", "pnet")]
    networks = [load_model(f, device)[0] for f in files if f.exists()]
    return MapAverage(networks, normalise).eval()


# -- SNet ---------------------------------------------------------------------
def snet_spec(config: Mapping[str, Any]) -> dict[str, Any]:
    return network_spec(config["model"], "snet", "mws")


def train_snet(
    config: dict[str, Any],
    folder: Path,
    samples: Sequence[Sample],
    label_dir: Path,
    resume: bool,
    stage: str = "snet",
) -> dict[str, Any]:
    """SNet fits the binary pseudo-labels with the bootstrapping loss (Eq. 11), from ImageNet
    weights each round; label gate and validation: :func:`~weaksal.methods.self_training.fit_round`."""
    from weaksal.engine.loop import setup_network

    t = config["snet"]
    trainer = Trainer({**config, "stage": stage, "train": t}, folder, resume)
    spec = snet_spec(config)
    raw, model, optimizer, channels_last = setup_network(
        trainer, {**config, "train": t}, spec, "snet"
    )
    return fit_round(
        trainer,
        raw,
        model,
        optimizer,
        spec,
        t,
        samples,
        label_dir,
        config["labels"],
        held_out(config["data"]["validation"]),
        channels_last,
        folder / SNET,
    )


# -- the pipeline -------------------------------------------------------------
def train(config: dict[str, Any], run_dir: str | Path, resume: bool = True) -> dict[str, Any]:
    config = resolve_config(config, SECTIONS)
    require_refiners(config["labels"], ("refine", "refine_later"))
    run_dir = start_pipeline(run_dir, config)
    sources = Sources(config)
    label_samples = source_samples(config["data"]["pseudo_labels"])
    device = engine_device(config["engine"])
    attention_stages = sources.stages()
    stages = []
    for name in attention_stages:
        init_dir = None if name == "init" else run_dir / "init"
        stages.append(
            Stage(
                name,
                lambda folder, n=name, d=init_dir: train_attention(
                    config, folder, sources, n, d, resume
                ),
            )
        )
    last = run_dir / attention_stages[-1]
    labels = config["labels"]

    def pseudo_labels(folder: Path) -> dict[str, Any]:
        from weaksal.inference.runtimes import TorchRuntime

        average = attention_average(last, device, bool(labels["normalise"]))
        runtime = TorchRuntime(average, device)
        return make_labels(
            runtime,
            int(config["model"]["input_size"]),
            label_samples,
            folder,
            labels["refine"],
            float(labels["threshold"]),
            int(labels["workers"]),
        )

    def later_labels(folder: Path, previous: str) -> dict[str, Any]:
        from weaksal.inference.runtimes import TorchRuntime

        model = load_model(kept_model(run_dir / previous, SNET), device)[0]
        return make_labels(
            TorchRuntime(model, device),
            int(config["model"]["input_size"]),
            label_samples,
            folder,
            labels["refine_later"] or labels["refine"],
            float(labels["threshold_later"]),
            int(labels["workers"]),
        )

    stages.append(Stage("labels", pseudo_labels))
    rounds = [round_name(i) for i in range(1, int(config["snet"]["rounds"]) + 1)]
    for index, name in enumerate(rounds):
        label_stage = "labels" if index == 0 else f"labels{index + 1}"
        if index:
            stages.append(
                Stage(label_stage, lambda folder, p=rounds[index - 1]: later_labels(folder, p))
            )
        stages.append(
            Stage(
                name,
                lambda folder, n=name, d=run_dir / label_stage / "labels": train_snet(
                    config, folder, label_samples, d, resume, n
                ),
            )
        )
    summaries = run_pipeline(run_dir, stages)
    ship_best_round(run_dir, summaries, rounds, SNET)
    write_json(run_dir / "summary.json", summaries)
    return summaries


def round_name(index: int) -> str:
    """SNet's round folders: ``snet``, then ``snet2``, ``snet3``... (the first as before rounds)."""
    return "snet" if index == 1 else f"snet{index}"
