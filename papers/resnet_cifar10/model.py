"""The CIFAR-10 ResNets of §4.2 (arXiv 1512.03385): 6n + 2 weighted layers.

"The first layer is 3×3 convolutions. Then we use a stack of 6n layers with 3×3 convolutions on the
feature maps of sizes {32, 16, 8} respectively, with 2n layers for each feature map size. The
numbers of filters are {16, 32, 64} respectively. The subsampling is performed by convolutions with
a stride of 2. The network ends with a global average pooling, a 10-way fully-connected layer, and
softmax." Shortcuts join each pair of 3×3 layers (3n in all) and are option A (parameter-free).
n = 3, 5, 7, 9, 18 gives ResNet-20, 32, 44, 56, 110 (Table 6).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workbench import ConfigError

from .components import option_a_shortcut

WIDTHS = (16, 32, 64)  # §4.2: filters per stage


class BasicBlock(nn.Module):
    """Fig. 2 / §3.2: y = F(x) + x, F = conv-BN-ReLU-conv-BN; ReLU after the addition. BN after
    each convolution and before activation (§3.4, following [16])."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.out_channels, self.stride = out_channels, stride
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(residual + option_a_shortcut(x, self.out_channels, self.stride))


class CifarResNet(nn.Module):
    def __init__(self, depth: int, n_classes: int = 10) -> None:
        super().__init__()
        if (depth - 2) % 6 or depth < 8:
            raise ConfigError(f"model.depth={depth} must be 6n + 2; use one of 20, 32, 44, 56, 110, e.g. model.depth=20")
        n = (depth - 2) // 6
        self.conv = nn.Conv2d(3, WIDTHS[0], 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(WIDTHS[0])
        blocks, in_channels = [], WIDTHS[0]
        for stage, width in enumerate(WIDTHS):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BasicBlock(in_channels, width, stride))
                in_channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(WIDTHS[-1], n_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """§4.2: "we adopt the weight initialization in [13]" (He et al. 2015, N(0, 2/fan_in))."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: b 3 h w (mean-subtracted) -> logits b 10."""
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(x.mean(dim=(2, 3)))  # global average pooling
