from __future__ import annotations

import torch
import torch.nn.functional as F

from weaksal.nn.heads import DilatedSumHead, LearnedUpsample, bilinear_kernel


def test_learned_upsample_starts_as_bilinear_interpolation():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 12, 10)
    up = LearnedUpsample(1, 8)
    expected = F.interpolate(x, scale_factor=8, mode="bilinear", align_corners=False)
    out = up(x)
    assert out.shape == (2, 1, 96, 80)
    # equal away from the border, where interpolation clamps and the deconv sees zeros
    assert torch.allclose(out[..., 8:-8, 8:-8], expected[..., 8:-8, 8:-8], atol=1e-6)


def test_bilinear_kernel_values_and_channel_independence():
    kernel = bilinear_kernel(2, 4)
    profile = torch.tensor([0.25, 0.75, 0.75, 0.25])
    assert torch.allclose(kernel[0, 0], profile[:, None] * profile[None, :])
    assert torch.count_nonzero(kernel[0, 1]) == 0


def test_dilated_sum_head_is_the_sum_of_its_branches():
    torch.manual_seed(0)
    head = DilatedSumHead(5, 1, (1, 2))
    x = torch.rand(1, 5, 9, 9)
    expected = sum(
        F.conv2d(x, b.weight, b.bias, padding=d, dilation=d)
        for b, d in zip(head.branches, (1, 2), strict=True)
    )
    assert torch.allclose(head(x), expected, atol=1e-6)
    assert head(x).shape == (1, 1, 9, 9)
