"""The Python side of bench_train: one training step of a RadDiag preset in PyTorch, timed.

usage: bench_train.py STEPS BATCH THREADS CLASSES [--size tiny|released] [--precision fp32|bf16] [--trace FILE]
       (bench_train runs it; prints one JSON line)

The same architecture as raddiag's presets (src/train/model_setup.cpp, src/model/model_config.h,
docs/model.md), the size chosen by --size (default tiny):
  tiny:     ResNet stem (7x7 conv 64, stride 2, max-pool) + BasicBlocks [1,1,1,1] x [16,32,64,128],
            hidden 128; slice aggregator 1 layer, 2 heads, d_ff 256; fusion 1 layer, 2 heads, d_ff 256;
            64x64 slices, 4 slice positions, 2 slots.
  released: ResNet-50 (Bottleneck [3,4,6,3] x [64,128,256,512], stride on the 3x3 conv), hidden 2048;
            slice aggregator 1 layer, 1 head, d_ff 2048; fusion 2 layers, 4 heads, d_ff 2048;
            256x256 slices, 32 slice positions, 4 slots, 5569 classes (CLASSES as given).
Both: the grey slice through the summed stem weight (as raddiag does); slice aggregator over CLS +
positions, case fusion over slots (modality embedding, CLS, no positions); official encoder layer
(x + MHA(x), then x + FFN(LN(x)); the stack ends in a LN); MLP head Linear-GELU-Linear; fast path
(valid slices of non-empty slots only, channels-last convs); BCE + 0.001 x Gaussian-KL attention loss,
AdamW, clipping at 1.0. --precision bf16: CPU autocast to bfloat16 around the slice encoder only, its
features cast back to float32 (what raddiag's set_backbone_precision(kBf16) does).
The batch has the shape of raddiag's bench: B cases, slot 0 a 4-slice volume, slot 1 a 3-slice image in
every other case, the other slots empty.
"""
import argparse
import json
import math
import statistics
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Size:
    S: int         # slice height = width
    D: int         # slice positions per scan
    N: int         # scan slots per case
    H: int         # hidden
    block: str     # "basic" | "bottleneck"
    layers: tuple
    widths: tuple
    agg: tuple     # (layers, heads, d_ff)
    fuse: tuple


SIZES = {
    "tiny": Size(64, 4, 2, 128, "basic", (1, 1, 1, 1), (16, 32, 64, 128), (1, 2, 256), (1, 2, 256)),
    "released": Size(256, 32, 4, 2048, "bottleneck", (3, 4, 6, 3), (64, 128, 256, 512), (1, 1, 2048), (2, 4, 2048)),
}


def conv_bn(cin, cout, k, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.c1, self.c2 = conv_bn(cin, planes, 3, stride), conv_bn(planes, planes, 3, 1)
        self.down = conv_bn(cin, planes, 1, stride) if stride != 1 or cin != planes else None

    def forward(self, x):
        y = self.c2(F.relu(self.c1(x)))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):  # torchvision's: the stride on the 3x3 conv
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * 4
        self.c1, self.c2, self.c3 = conv_bn(cin, planes, 1, 1), conv_bn(planes, planes, 3, stride), conv_bn(planes, out, 1, 1)
        self.down = conv_bn(cin, out, 1, stride) if stride != 1 or cin != out else None

    def forward(self, x):
        y = self.c3(F.relu(self.c2(F.relu(self.c1(x)))))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class Backbone(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        block = Bottleneck if size.block == "bottleneck" else BasicBlock
        blocks, cin = [], 64
        for s, (n, w) in enumerate(zip(size.layers, size.widths)):
            for i in range(n):
                blocks.append(block(cin, w, 2 if i == 0 and s > 0 else 1))
                cin = w * block.expansion
        self.blocks = nn.Sequential(*blocks)
        for m in self.modules():  # torchvision's init, as raddiag
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):  # [n, 1, S, S]
        y = F.conv2d(x, self.conv1.weight.sum(1, keepdim=True), None, 2, 3)
        y = F.max_pool2d(F.relu(self.bn1(y)), 3, 2, 1)
        return F.adaptive_avg_pool2d(self.blocks(y), 1).flatten(1)


class OfficialLN(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.a = nn.Parameter(torch.ones(d))
        self.b = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return self.a * (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-6) + self.b


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.heads = heads
        self.lin = nn.ModuleList([nn.Linear(d, d) for _ in range(4)])
        self.w1, self.w2 = nn.Linear(d, d_ff), nn.Linear(d_ff, d)
        self.ffn_norm = OfficialLN(d)

    def forward(self, x, mask):  # mask [B, T] bool
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = (split(l(x)) for l in self.lin[:3])
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        scores = scores.masked_fill(~mask[:, None, None, :], -1e9)
        probs = scores.softmax(-1)
        ctx = (probs @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.lin[3](ctx)
        return x + self.w2(F.relu(self.w1(self.ffn_norm(x)))), scores


class Encoder(nn.Module):  # layers, then the final LN; the last layer's CLS-row scores (head mean)
    def __init__(self, d, spec):
        super().__init__()
        layers, heads, d_ff = spec
        self.layers = nn.ModuleList([EncoderLayer(d, heads, d_ff) for _ in range(layers)])
        self.norm = OfficialLN(d)

    def forward(self, x, mask):
        for layer in self.layers:
            x, scores = layer(x, mask)
        return self.norm(x), scores[:, :, 0, :].mean(1)


class RadDiag(nn.Module):
    def __init__(self, size, classes, bf16):
        super().__init__()
        self.z, self.bf16 = size, bf16
        H, D = size.H, size.D
        self.backbone = Backbone(size)
        self.agg_cls = nn.Parameter(torch.randn(1, 1, H))
        self.pos = nn.Parameter(torch.randn(D + 1, H))
        self.agg = Encoder(H, size.agg)
        self.mod_embed = nn.Parameter(torch.randn(16, H))
        self.fuse_cls = nn.Parameter(torch.randn(1, 1, H))
        self.fuse = Encoder(H, size.fuse)
        self.head = nn.Sequential(nn.Linear(H, H), nn.GELU(), nn.Linear(H, classes))

    def encode(self, chosen):
        if not self.bf16:
            return self.backbone(chosen)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.backbone(chosen).float()

    def forward(self, images, mods, marks):  # [B, N, S, S, D], [B, N], [B, N, D]
        S, D, N, H = self.z.S, self.z.D, self.z.N, self.z.H
        B = images.shape[0]
        BN = B * N
        slices = images.reshape(BN, S, S, D).permute(0, 3, 1, 2)
        used = mods.reshape(BN) != 0
        sel = (marks.reshape(BN, D) != 0) & used[:, None]
        idx = sel.reshape(-1).nonzero().squeeze(1)
        chosen = slices.reshape(BN * D, S, S)[idx].unsqueeze(1).contiguous(memory_format=torch.channels_last)
        f = self.encode(chosen)
        feats = torch.zeros(BN * D, H).index_copy(0, idx, f).view(BN, D, H)
        rows = used.nonzero().squeeze(1)
        x = torch.cat([self.agg_cls.expand(len(rows), 1, H), feats[rows]], 1) + self.pos
        m = torch.cat([torch.ones(len(rows), 1, dtype=torch.bool), marks.reshape(BN, D)[rows] != 0], 1)
        y, scores = self.agg(x, m)
        emb = torch.zeros(BN, H).index_copy(0, rows, y[:, 0]).view(B, N, H)
        z = torch.cat([self.fuse_cls.expand(B, 1, H), emb + self.mod_embed[mods]], 1)
        zm = torch.cat([torch.ones(B, 1, dtype=torch.bool), mods != 0], 1)
        fused, _ = self.fuse(z, zm)
        return self.head(fused[:, 0]), scores[:, 1:], marks.reshape(BN, D)[rows].sum(1)


def attention_kl(scores, cutoffs, keys, D):  # Gaussian target around the key slice over the valid slices
    pos = torch.arange(D, dtype=torch.float32)
    target = torch.exp(-0.5 * ((pos[None] - keys[:, None].float()) / (D / 16)) ** 2)
    valid = pos[None] < cutoffs[:, None]
    target = torch.where(valid, target, torch.zeros(())) + 1e-8
    target = target / target.sum(1, keepdim=True)
    logp = scores.masked_fill(~valid, -1e9).log_softmax(1)
    return (target * (target.log() - logp)).sum(1).mean()


def make_step(size, batch, classes, bf16):
    """The model, batch and optimiser of one benchmark case; returns (step, losses, norms): step() runs one
    optimiser step and appends its loss and its gradient norm (before clipping) to the two lists."""
    z = SIZES[size]
    torch.manual_seed(0)
    model = RadDiag(z, classes, bf16)
    model.backbone.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    images = torch.rand(batch, z.N, z.S, z.S, z.D)
    mods = torch.zeros(batch, z.N, dtype=torch.long)
    marks = torch.zeros(batch, z.N, z.D, dtype=torch.long)
    mods[:, 0], marks[:, 0, :4] = 1, 1
    mods[::2, 1], marks[::2, 1, :3] = 7, 1
    images = images * marks[:, :, None, None, :]
    labels = (torch.rand(batch, classes) < 0.3).float()
    keys = torch.zeros(int((mods != 0).sum()), dtype=torch.long)
    model.train()
    losses, norms = [], []

    def step():
        opt.zero_grad()
        logits, scores, cutoffs = model(images, mods, marks)
        loss = F.binary_cross_entropy_with_logits(logits.clamp(-60, 60), labels) + 0.001 * attention_kl(scores, cutoffs, keys, z.D)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))  # before clipping
        opt.step()
        losses.append(float(loss))

    return step, losses, norms


def main():
    ap = argparse.ArgumentParser(description="one RadDiag training step in PyTorch, timed")
    for name in ("steps", "batch", "threads", "classes"):
        ap.add_argument(name, type=int)
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--trace", default="", help="after the timed steps, one more under the autograd profiler: a Chrome trace")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    step, losses, norms = make_step(a.size, a.batch, a.classes, a.precision == "bf16")

    for _ in range(2):  # warm-up (allocator, mkldnn primitives), as bench_train
        step()
    walls, cpus = [], []  # per-step times, reported as medians (as bench_train does)
    for _ in range(a.steps):
        cpu0, t0 = time.process_time(), time.perf_counter()
        step()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - cpu0)
    if a.trace:
        with torch.autograd.profiler.profile() as prof:
            step()
        prof.export_chrome_trace(a.trace)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "size": a.size, "precision": a.precision,
                      "steps": a.steps, "batch": a.batch, "threads": a.threads, "wall_s_per_step": wall,
                      "cpu_s_per_step": cpu, "cases_per_s": a.batch / wall, "loss_step1": losses[0],
                      "loss_step2": losses[1], "grad_norms_finite": all(math.isfinite(n) for n in norms)}))


if __name__ == "__main__":
    main()
