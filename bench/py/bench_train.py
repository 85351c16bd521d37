"""The Python side of bench_train: one training step of the tiny RadDiag preset in PyTorch, timed.

usage: bench_train.py STEPS BATCH THREADS CLASSES      (bench_train runs it; prints one JSON line)

The same architecture as raddiag's "tiny" preset (src/train/train_job.cpp, docs/model.md): ResNet stem
(7x7 conv 64, stride 2, max-pool; the grey slice through the summed stem weight, as raddiag does),
BasicBlocks [1,1,1,1] x [16,32,64,128], a one-layer 2-head slice aggregator (CLS + positions, official
encoder layer: x + MHA(x), then x + FFN(LN(x)), final LN, d_ff 256), the same case fusion over slots
(modality embedding, CLS, no positions), MLP head; fast path (valid slices of non-empty slots only,
channels-last convs), BCE + 0.001 x Gaussian-KL attention loss, AdamW, clipping at 1.0. The batch has
the shape raddiag's bench uses: B cases of 2 slots at 64x64 with 4 slice positions, slot 0 a 4-slice
volume, slot 1 a 3-slice image in every other case.
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

S, D, N, H = 64, 4, 2, 128


class Block(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.down = None
        if stride != 1 or cin != planes:
            self.down = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for i, w in enumerate([16, 32, 64, 128]):
            blocks.append(Block(cin, w, 1 if i == 0 else 2))
            cin = w
        self.blocks = nn.Sequential(*blocks)

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
        self.ffn_norm, self.norm = OfficialLN(d), OfficialLN(d)

    def forward(self, x, mask):  # mask [B, T] bool
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = (split(l(x)) for l in self.lin[:3])
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        scores = scores.masked_fill(~mask[:, None, None, :], -1e9)
        probs = scores.softmax(-1)
        ctx = (probs @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.lin[3](ctx)
        x = x + self.w2(F.relu(self.w1(self.ffn_norm(x))))
        return self.norm(x), scores[:, :, 0, :].mean(1)  # CLS-row scores


class TinyRadDiag(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.backbone = Backbone()
        self.agg_cls = nn.Parameter(torch.randn(1, 1, H))
        self.pos = nn.Parameter(torch.randn(D + 1, H))
        self.agg = EncoderLayer(H, 2, 256)
        self.mod_embed = nn.Parameter(torch.randn(16, H))
        self.fuse_cls = nn.Parameter(torch.randn(1, 1, H))
        self.fuse = EncoderLayer(H, 2, 256)
        self.head = nn.Sequential(nn.Linear(H, H), nn.GELU(), nn.Linear(H, classes))

    def forward(self, images, mods, marks):  # [B, N, S, S, D], [B, N], [B, N, D]
        B = images.shape[0]
        BN = B * N
        slices = images.reshape(BN, S, S, D).permute(0, 3, 1, 2)
        used = mods.reshape(BN) != 0
        sel = (marks.reshape(BN, D) != 0) & used[:, None]
        idx = sel.reshape(-1).nonzero().squeeze(1)
        chosen = slices.reshape(BN * D, S, S)[idx].unsqueeze(1).contiguous(memory_format=torch.channels_last)
        f = self.backbone(chosen)
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


def attention_kl(scores, cutoffs, keys):  # Gaussian target around the key slice over the valid slices
    pos = torch.arange(D, dtype=torch.float32)
    target = torch.exp(-0.5 * ((pos[None] - keys[:, None].float()) / (D / 16)) ** 2)
    valid = pos[None] < cutoffs[:, None]
    target = torch.where(valid, target, torch.zeros(())) + 1e-8
    target = target / target.sum(1, keepdim=True)
    logp = scores.masked_fill(~valid, -1e9).log_softmax(1)
    return (target * (target.log() - logp)).sum(1).mean()


def main():
    steps, batch, threads, classes = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = TinyRadDiag(classes)
    model.backbone.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    images = torch.rand(batch, N, S, S, D)
    mods = torch.zeros(batch, N, dtype=torch.long)
    marks = torch.zeros(batch, N, D, dtype=torch.long)
    mods[:, 0], marks[:, 0] = 1, 1
    mods[::2, 1], marks[::2, 1, :3] = 7, 1
    images = images * marks[:, :, None, None, :]
    labels = (torch.rand(batch, classes) < 0.3).float()
    keys = torch.zeros(int((mods != 0).sum()), dtype=torch.long)
    model.train()

    def step():
        opt.zero_grad()
        logits, scores, cutoffs = model(images, mods, marks)
        loss = F.binary_cross_entropy_with_logits(logits.clamp(-60, 60), labels) + 0.001 * attention_kl(scores, cutoffs, keys)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(2):  # warm-up (allocator, mkldnn primitives)
        step()
    walls, cpus = [], []  # per-step times, reported as medians (as bench_train does)
    for _ in range(steps):
        cpu0, t0 = time.process_time(), time.perf_counter()
        step()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - cpu0)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "steps": steps, "batch": batch, "threads": threads,
                      "wall_s_per_step": wall, "cpu_s_per_step": cpu, "cases_per_s": batch / wall}))


if __name__ == "__main__":
    main()
