"""Independent reference for importing the official late-fusion checkpoint (the Zeroshot model) and a
knowledge-head (KE) checkpoint (tests/serve/test_import_presets.cpp), written from the reference spec
(shared/spec/raddiag-reference.md 2.2-2.4, 2.6, 2.8, 3) with Debian's python3-torch/torchvision; no raddiag code.

  official_late_reference.py OUT_DIR

Writes, at a small size (ResNet with basic blocks 1-1-1-1, hidden 512, 4 slices of 32x32, 5 classes):
  arch.json            raddiag model config of the sizes only (fusion and head come from --preset)
  labels.json          {name: index}
  late.bin             official-layout state dict of a late model with the MLP head (fc.0/fc.2), random
                       weights, saved like HF Trainer (torch.save of an OrderedDict, template entries sharing
                       tensors with encoder_layer.*)
  knowledge.bin        the same trunk with the KE head (fcke) plus a stand-in bioLORD.* entry
  class_embeddings.npy [5, 16] float32: the KE class text embeddings (before L2 normalisation)
  images.npy [2, 1, 32, 32, 4], marks.npy [2, 4] (int64; case 1 has 2 valid slices, zero padding after)
  late_logits.npy, knowledge_logits.npy [2, 5]: the reference forward (2.8) of each checkpoint
"""
import collections
import json
import math
import os
import sys

import numpy as np
import torch
import torchvision

H, S, D, C, TEXT, D_FF = 512, 32, 4, 5, 16, 64


def layer_norm(x, a, b):
    # The official LayerNorm: unbiased std, eps added to the std (2.3).
    mean = x.mean(-1, keepdim=True)
    std = x.std(-1, keepdim=True, unbiased=True)
    return a * (x - mean) / (std + 1e-6) + b


def linear(sd, name, x):
    return x @ sd[name + ".weight"].t() + sd[name + ".bias"]


def attention(sd, p, x, mask, heads):
    # Q/K/V = linears 0..2, out = linears 3; masked keys get -1e9 before the softmax.
    n, L, _ = x.shape
    dk = H // heads
    q, k, v = (linear(sd, f"{p}.self_attn.linears.{i}", x).view(n, L, heads, dk).transpose(1, 2) for i in range(3))
    scores = q @ k.transpose(-2, -1) / math.sqrt(dk)
    scores = scores.masked_fill(mask[:, None, None, :] == 0, -1e9)
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, L, H)
    return linear(sd, f"{p}.self_attn.linears.3", out)


def encoder(sd, p, x, mask, layers, heads):
    for l in range(layers):
        lp = f"{p}.encoder.layers.{l}"
        x = x + attention(sd, lp, x, mask, heads)  # no pre-norm: sublayer.0's norm is discarded
        h = layer_norm(x, sd[lp + ".sublayer.1.norm.a"], sd[lp + ".sublayer.1.norm.b"])
        x = x + linear(sd, lp + ".feed_forward.w_2", torch.relu(linear(sd, lp + ".feed_forward.w_1", h)))
    return layer_norm(x, sd[p + ".encoder.norm.a"], sd[p + ".encoder.norm.b"])


def late_embedding(sd, resnet, images, marks):
    # 2.8: repeat to 3 channels, (b d) c h w through the ResNet, Attention1D with CLS pooling.
    B = images.shape[0]
    x = images.repeat(1, 3, 1, 1, 1).permute(0, 4, 1, 2, 3).reshape(B * D, 3, S, S)
    trunk = torch.nn.Sequential(*list(resnet.children())[:-1])
    f = trunk(x).flatten(1).view(B, D, H)
    cls = sd["attention1D.cls_token"].expand(B, 1, H)
    x = torch.cat([cls, f], 1) + sd["attention1D.pos_emb"]
    mask = torch.cat([torch.ones(B, 1, dtype=marks.dtype), marks], 1)
    return encoder(sd, "attention1D.transformer_encoder", x, mask, 1, 1)[:, 0]


def randn(gen, *shape, scale=1.0):
    return torch.randn(*shape, generator=gen) * scale


def official_state(gen, resnet, knowledge):
    sd = collections.OrderedDict()
    for k, v in resnet.state_dict().items():
        sd["resnet2D." + k] = v
    sd["attention1D.cls_token"] = randn(gen, 1, 1, H)
    sd["attention1D.pos_emb"] = randn(gen, D + 1, H)
    T = "attention1D.transformer_encoder."

    def lin(name, out, inp, scale=None):
        sd[name + ".weight"] = randn(gen, out, inp, scale=scale or 1 / math.sqrt(inp))
        sd[name + ".bias"] = randn(gen, out, scale=0.1)

    for i in range(4):
        lin(f"{T}multi_headed_attention.linears.{i}", H, H)
    lin(T + "feed_forward.w_1", D_FF, H)
    lin(T + "feed_forward.w_2", H, D_FF)
    # The template layer holds the very same tensors (3: 24 shared names in the released model).
    for i in range(4):
        for w in ("weight", "bias"):
            sd[f"{T}encoder_layer.self_attn.linears.{i}.{w}"] = sd[f"{T}multi_headed_attention.linears.{i}.{w}"]
    for j in (1, 2):
        for w in ("weight", "bias"):
            sd[f"{T}encoder_layer.feed_forward.w_{j}.{w}"] = sd[f"{T}feed_forward.w_{j}.{w}"]
    for n in range(2):
        sd[f"{T}encoder_layer.sublayer.{n}.norm.a"] = 1 + randn(gen, H, scale=0.1)
        sd[f"{T}encoder_layer.sublayer.{n}.norm.b"] = randn(gen, H, scale=0.1)
    L = T + "encoder.layers.0."
    for i in range(4):
        lin(f"{L}self_attn.linears.{i}", H, H)
    lin(L + "feed_forward.w_1", D_FF, H)
    lin(L + "feed_forward.w_2", H, D_FF)
    for n in range(2):  # sublayer.0 is dead, random so that using it would show
        sd[f"{L}sublayer.{n}.norm.a"] = 1 + randn(gen, H, scale=0.1)
        sd[f"{L}sublayer.{n}.norm.b"] = randn(gen, H, scale=0.1)
    sd[T + "encoder.norm.a"] = 1 + randn(gen, H, scale=0.1)
    sd[T + "encoder.norm.b"] = randn(gen, H, scale=0.1)
    if knowledge:
        lin("fcke", H, TEXT, scale=1 / math.sqrt(H))  # logits of order 1
        sd["bioLORD.embeddings.word_embeddings.weight"] = randn(gen, 30, TEXT)  # the frozen text encoder (skipped)
    else:
        lin("fc.0", H, H)
        lin("fc.2", C, H)
    return sd


def main(out):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(1406)
    torch.manual_seed(1406)
    resnet = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1])
    with torch.no_grad():
        for m in resnet.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.5)
                m.bias.copy_(randn(gen, m.num_features, scale=0.1))
                m.running_mean.copy_(randn(gen, m.num_features, scale=0.1))
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    resnet.eval()

    images = torch.rand(2, 1, S, S, D, generator=gen)
    marks = torch.ones(2, D, dtype=torch.int64)
    images[1, ..., 2:] = 0  # case 1: 2 valid slices, zero padding (which still goes through the ResNet)
    marks[1, 2:] = 0
    np.save(os.path.join(out, "images.npy"), images.numpy())
    np.save(os.path.join(out, "marks.npy"), marks.numpy())
    names = ["Normal", "Meningioma", "Pneumothorax", "Hip dislocation", "Segond fracture"]
    with open(os.path.join(out, "labels.json"), "w") as f:
        json.dump({n: i for i, n in enumerate(names)}, f)
    arch = {"backbone": {"type": "custom", "block": "basic", "layers": [1, 1, 1, 1], "widths": [64, 128, 256, 512]},
            "hidden": H, "aggregator": {"layers": 1, "heads": 1, "d_ff": D_FF}, "head": {"num_classes": C},
            "size": S, "depth": D}
    with open(os.path.join(out, "arch.json"), "w") as f:
        json.dump(arch, f)

    with torch.no_grad():
        late = official_state(gen, resnet, knowledge=False)
        torch.save(late, os.path.join(out, "late.bin"))
        z = late_embedding(late, resnet, images, marks)
        logits = linear(late, "fc.2", torch.nn.functional.gelu(linear(late, "fc.0", z)))
        np.save(os.path.join(out, "late_logits.npy"), logits.numpy())

        ke = official_state(gen, resnet, knowledge=True)
        torch.save(ke, os.path.join(out, "knowledge.bin"))
        emb = randn(gen, C, TEXT)
        np.save(os.path.join(out, "class_embeddings.npy"), emb.numpy())
        z = late_embedding(ke, resnet, images, marks)
        e = emb / emb.norm(dim=1, keepdim=True).clamp_min(1e-12)  # 2.6: F.normalize, then fcke, no bias on logits
        logits = z @ linear(ke, "fcke", e).t()
        np.save(os.path.join(out, "knowledge_logits.npy"), logits.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
