"""SSNet's parts: augmentation, the masked-softmax CRF labels, VOC names and image labels, L_s2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import random_rgb, save_image
from weaksal.data.augment import random_affine
from weaksal.data.layouts import Sample
from weaksal.data.voc import read_label_map, voc_class_names, with_image_labels
from weaksal.methods.ssnet.losses import pseudo_label_loss as ssnet_pseudo_label_loss
from weaksal.methods.ssnet.pipeline import crf_label, decayed_lr
from weaksal.plumbing.errors import CorruptFileError


def _batch():
    images = torch.rand(4, 3, 16, 16)
    labels = torch.arange(256).reshape(16, 16).remainder(7).repeat(4, 1, 1)
    masks = images[:, :1].clone()
    return images, masks, labels


def test_affine_without_rotation_crop_or_flip_is_the_identity():
    images, masks, labels = _batch()
    out, (m,), (lab,) = random_affine(
        images, [masks], [labels], torch.Generator().manual_seed(0), 0.0, 1.0, False
    )
    assert torch.allclose(out, images, atol=1e-5) and torch.allclose(m, masks, atol=1e-5)
    assert torch.equal(lab, labels)


def test_flips_move_images_masks_and_labels_together():
    images, masks, labels = _batch()
    out, (m,), (lab,) = random_affine(
        images, [masks], [labels], torch.Generator().manual_seed(4), 0.0, 1.0, True
    )
    flipped = [
        bool(torch.allclose(o, i.flip(-1), atol=1e-5)) for o, i in zip(out, images, strict=True)
    ]
    assert flipped == [False, True, False, False]  # seed 4's coins
    for k, was in enumerate(flipped):
        assert torch.equal(lab[k], labels[k].flip(-1) if was else labels[k])
        assert torch.allclose(m[k], masks[k].flip(-1) if was else masks[k], atol=1e-5)


def test_rotation_marks_pixels_from_outside_the_image_as_ignored():
    images, masks, labels = _batch()
    _, _, (lab,) = random_affine(
        images, [masks], [labels], torch.Generator().manual_seed(1), 10.0, 1.0, False
    )
    assert (lab[:, 0, 0] == 255).any()  # a corner rotated in from outside
    assert set(lab.unique().tolist()) <= set(range(7)) | {255}


def test_crop_zooms_in_without_leaving_the_image():
    images, masks, labels = _batch()
    _, _, (lab,) = random_affine(
        images, [masks], [labels], torch.Generator().manual_seed(2), 0.0, 0.5, False
    )
    assert not (lab == 255).any()


def test_crf_labels_keep_the_image_classes_or_give_absent_ones_logit_zero(tmp_path):
    """Present classes [0, 2] of 4. The paper zeroes absent probabilities: only 0 and 2 can
    be labels. The code zeroes absent logits: where both present logits are below 0, an
    absent class has the largest probability and takes the pixel."""
    image = save_image(tmp_path / "im.jpg", random_rgb((32, 32)))
    logits = np.zeros((2, 32, 32), np.float32)
    logits[1, :, :16] = 8.0  # class 2 sure on the left
    logits[0, :, 16:] = -6.0  # right: background above class 2, both far below 0
    logits[1, :, 16:] = -9.0
    crf_label(image, [0, 2], logits, 4, 32, "ssnet", "paper", tmp_path / "paper.png")
    crf_label(image, [0, 2], logits, 4, 32, "ssnet", "code", tmp_path / "code.png")
    paper, code = read_label_map(tmp_path / "paper.png"), read_label_map(tmp_path / "code.png")
    assert paper.shape == code.shape == (32, 32)
    assert (paper[:, :12] == 2).all() and (code[:, :12] == 2).all()
    assert (paper[:, 20:] == 0).all()
    assert set(np.unique(code[:, 20:])) <= {1, 3}  # absent classes, never 0 or 2


def test_voc_names_from_classes_txt_and_image_labels_from_maps(tmp_path):
    (tmp_path / "classes.txt").write_text("0 background\n1 Granny Smith\n2 zebra\n")
    assert voc_class_names(tmp_path) == ["background", "Granny Smith", "zebra"]
    assert voc_class_names(tmp_path / "elsewhere")[:2] == ["background", "aeroplane"]
    (tmp_path / "classes.txt").write_text("0 background\n2 zebra\n")
    with pytest.raises(CorruptFileError, match="without gaps"):
        voc_class_names(tmp_path)
    label = np.zeros((8, 8), np.uint8)
    label[2:4, 2:4], label[0, 0] = 2, 255
    save_image(tmp_path / "m.png", label)
    tagged = Sample("a", tmp_path / "a.jpg", mask=tmp_path / "m.png", labels={"tags": ("zebra",)})
    untagged = Sample("b", tmp_path / "b.jpg", mask=tmp_path / "m.png")
    names = ["background", "apple", "zebra"]
    assert [s.label("tags") for s in with_image_labels([tagged, untagged], names)] == [
        ("zebra",),
        ("zebra",),
    ]


def test_pseudo_label_loss_samples_labels_at_coarse_logits():
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[0, :, 4:] = 1
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 1, :, 1] = 20.0  # right column says class 1
    logits[0, 0, :, 0] = 20.0
    assert float(ssnet_pseudo_label_loss(logits, labels)) < 1e-6
    wrong = logits.flip(-1)
    assert float(ssnet_pseudo_label_loss(wrong, labels)) > 10


def test_the_code_decays_stage_one_by_ten_every_2000_steps():
    settings = {"lr": 1e-4, "lr_every": 2000, "lr_factor": 0.1}
    assert [decayed_lr(settings, s) for s in (0, 1999, 2000, 4000)] == pytest.approx(
        [1e-4, 1e-4, 1e-5, 1e-6]
    )


def test_ssnet_saliency_loss_paper_and_code_forms():
    from weaksal.methods.ssnet.losses import saliency_loss as ssnet_saliency_loss

    s = torch.tensor([[[[0.9, 0.2], [0.6, 0.1]]]])
    y = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    paper = -(torch.log(torch.tensor([0.9, 0.8, 0.4, 0.1]))).mean()
    assert torch.allclose(ssnet_saliency_loss(s, y), paper, atol=1e-6)
    code = -torch.tensor([0.9, 0.8, 0.4, 0.1]).mean()
    assert torch.allclose(ssnet_saliency_loss(s, y, form="code"), code, atol=1e-6)


def test_ssnet_class_and_pseudo_label_losses():
    from weaksal.methods.ssnet.losses import class_loss as ssnet_class_loss
    from weaksal.methods.ssnet.losses import pseudo_label_loss as ssnet_pseudo_label_loss

    scores, labels = torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])
    expected = (
        -(torch.log(torch.sigmoid(torch.tensor(2.0))) + torch.log(torch.sigmoid(torch.tensor(1.0))))
        / 2
    )
    assert torch.allclose(ssnet_class_loss(scores, labels), expected, atol=1e-6)
    logits = torch.zeros(1, 3, 1, 2)
    logits[0, 2, 0, 0] = 5.0
    target = torch.tensor([[[2, 255]]])  # the second pixel is ignored
    expected = -torch.log_softmax(logits[0, :, 0, 0], 0)[2]
    assert torch.allclose(ssnet_pseudo_label_loss(logits, target), expected, atol=1e-6)
