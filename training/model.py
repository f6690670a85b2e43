"""The emotion CNN trained by training/train.py, and its export wrapper.

A plain VGG-style network: stages of (3x3 conv, batch norm, ReLU) blocks, each
stage followed by 2x2 max pooling, then global average pooling, dropout and one
linear layer. Width and depth are parameters so the hyper-parameter search can
try several sizes.
"""

import torch
from torch import nn

# Normalisation baked into the manifest: value = (pixel / 255 - MEAN) / STD.
MEAN = 0.5
STD = 0.25


def conv_block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class EmotionCnn(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256), convs_per_stage=2, dropout=0.3, classes=7):
        super().__init__()
        layers, c_in = [], 1
        for i, w in enumerate(widths):
            for _ in range(convs_per_stage):
                layers.append(conv_block(c_in, w))
                c_in = w
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(c_in, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.pool(self.features(x)).flatten(1)
        return self.head(self.dropout(x))


class ExportWrapper(nn.Module):
    """What goes into the ONNX file: softmax probabilities averaged over the face and its mirror image.

    The mirror is a Gather with reversed column indices, which every ONNX
    opset and runtime supports.
    """

    def __init__(self, model, side=48, flip_tta=True):
        super().__init__()
        self.model = model
        self.flip_tta = flip_tta
        self.register_buffer("reverse", torch.arange(side - 1, -1, -1))

    def forward(self, x):
        p = torch.softmax(self.model(x), dim=1)
        if self.flip_tta:
            p = (p + torch.softmax(self.model(x.index_select(3, self.reverse)), dim=1)) * 0.5
        return p


def count_macs(model, side=48):
    """Multiply-accumulates of one forward pass on a [1,1,side,side] input (convs and linear layers)."""
    macs = 0

    def conv_hook(m, _inp, out):
        nonlocal macs
        macs += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, _inp, out):
        nonlocal macs
        macs += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, side, side))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return macs
