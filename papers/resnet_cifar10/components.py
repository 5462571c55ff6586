"""Stage 1 components of "Deep Residual Learning for Image Recognition" (He, Zhang, Ren, Sun;
arXiv 1512.03385), the CIFAR-10 experiments of §4.2.

Shapes: b batch, c channels, h and w height and width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange


def option_a_shortcut(x: torch.Tensor, out_channels: int, stride: int) -> torch.Tensor:
    """§3.3 option (A), used for all CIFAR-10 models (§4.2): "the shortcut still performs identity
    mapping, with extra zero entries padded for increasing dimensions ... when the shortcuts go
    across feature maps of two sizes, they are performed with a stride of 2". No parameters."""
    x = x[:, :, ::stride, ::stride]
    extra = out_channels - x.shape[1]
    if extra < 0:
        raise ValueError(f"option A cannot shrink channels ({x.shape[1]} -> {out_channels})")
    # Zero channels split before and after, as in the common reimplementations; either side gives
    # the same function class because the next layer's weights are free.
    return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))


def per_pixel_mean(images: torch.Tensor) -> torch.Tensor:
    """§4.2: "inputs are 32×32 images, with the per-pixel mean subtracted": the mean over training
    images of each (channel, row, column). images: b c h w (uint8 or float) -> c h w float32."""
    return (images.sum(dim=0, dtype=torch.float64) / len(images)).float()  # no float copy of the set


def pad_crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """§4.2, after [24]: "4 pixels are padded on each side, and a 32×32 crop is randomly sampled
    from the padded image or its horizontal flip". One crop offset and one flip per image, drawn
    from `generator`. x: b c h w (already mean-subtracted, so the zero padding is the mean colour)."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    top = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    left = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    flip = torch.rand(b, generator=generator) < 0.5
    rows = top[:, None] + torch.arange(h)  # b h
    cols = left[:, None] + torch.arange(w)  # b w
    cols = torch.where(flip[:, None], cols.flip(-1), cols)
    crops = padded[torch.arange(b)[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # b h w c
    return rearrange(crops, "b h w c -> b c h w")


def error_percent(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Table 6's metric: the percentage of images whose top-1 prediction is wrong."""
    return (logits.argmax(dim=-1) != labels).float().mean() * 100


def step_lr_factor(iteration: int, milestones: list[int], warmup_iterations: int = 0, warmup_factor: float = 1.0) -> float:
    """§4.2: lr 0.1 "divide[d] by 10 at 32k and 48k iterations"; for ResNet-110 "0.01 to warm up
    the training until the training error is below 80% (about 400 iterations)". A factor on the
    base lr for LambdaLR: warmup_factor before warmup_iterations, then 0.1 per milestone passed."""
    if iteration < warmup_iterations:
        return warmup_factor
    return 0.1 ** sum(iteration >= m for m in milestones)


def synthetic_images(n: int, size: int, n_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stand-in data for the CPU prototype: each class a random smooth colour template, each image
    its template plus noise, as uint8 b 3 size size. Not CIFAR-10; only for "the model can fit"."""
    generator = torch.Generator().manual_seed(seed)
    templates = torch.rand(n_classes, 3, size // 4, size // 4, generator=generator)
    templates = F.interpolate(templates, size=(size, size), mode="bilinear", align_corners=False)
    labels = torch.randint(0, n_classes, (n,), generator=generator)
    noise = 0.25 * torch.randn(n, 3, size, size, generator=generator)
    images = (templates[labels] + noise).clamp(0, 1)
    return (images * 255).round().to(torch.uint8), labels
