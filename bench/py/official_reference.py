#!/usr/bin/env python3
"""Re-statement of the official RadDiag early-fusion inference path (loader + RadNet forward), for parity and cost.

Written from the project's description of the official code (shared/spec/raddiag-reference.md: 1.5 modality
ids, 1.6 `RadNet_Dataset_early`, 2 `RadNet` with fuse='early', 3 state-dict layout, 4 losses), not from the
official sources, which are not available here. It executes what the official demo/evaluation executes:
batch 1, eval mode, torch.no_grad(), and EVERY slice of every slot (B*N*D slices, zero-padded slices and empty
slots included) through the torchvision ResNet in one call, NCHW. That is deliberate: this file stands for the
official implementation's cost, so none of the exact shortcuts of spec 2.9 are taken.

Weights come from an official state dict (HF Trainer `pytorch_model.bin`, an OrderedDict) with
`load_state_dict(strict=True)` on the sub-dict of the names this module owns. The names it does not own must be
the dead transformer templates of spec 3 (`*.transformer_encoder.{multi_headed_attention,feed_forward,
encoder_layer}.*`, 28 per transformer); anything else is an error. Two other dead entries are owned and loaded:
`resnet2D.fc.*` (torchvision's ResNet has the layer; the forward never calls it) and
`encoder.layers.*.sublayer.0.norm` (computed and discarded, as the official layer does).

Self check against the parity fixture (outputs of the real official code for a reduced model); also the ctest
`OfficialReference.ReproducesParityFixture` (exit 77 = skipped when the fixture is absent):
  /usr/bin/python3 bench/py/official_reference.py --check ../shared/data/official-parity
"""
import argparse
import json
import math
import os
import random
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

# spec 1.5: the k-th image of a sample gets the k-th id of its modality's list (position, not plane).
MODALITY_IDS = {
    "CT": [1, 2, 3], "MRI": [4, 5, 6], "X-ray": [7, 8], "Ultrasound": [9], "Annotated image": [10],
    "Fluoroscopy": [11], "Mammography": [12], "DSA (angiography)": [13], "Nuclear medicine": [14],
    "Barium": [15],
}
# spec 1.6: how many leading images of a sample the loader reads.
IMAGE_CAP = {"CT": 3, "MRI": 3, "X-ray": 2}
ATTENTION1D_HEADS = 1  # hard-coded in the official model, not recoverable from the state dict
VITFUSE_HEADS = 4
DEAD_ENTRY = re.compile(r"(\.transformer_encoder\.(multi_headed_attention|feed_forward|encoder_layer)\.|^resnet2D\.fc\.)")


# ---------------------------------------------------------------------------------------------- loader (1.6)

def load_early_case(case, label_dict, num_classes, level, size, depth, n_image, data_root, rng=random):
    """One case -> (images [N,1,S,S,D] f32, mods [N,1] i64, marks [N,D] i64, keys [N,1] i64, labels [C] f32).

    `rng` is the Python `random` state the official loader draws from (module-level `random`)."""
    images = np.zeros((n_image, 1, size, size, depth), dtype=np.float32)
    mods = np.zeros((n_image, 1), dtype=np.int64)
    marks = np.zeros((n_image, depth), dtype=np.int64)
    keys = np.full((n_image, 1), -1, dtype=np.int64)
    labels = np.zeros((num_classes,), dtype=np.float32)

    pairs = list(zip(case["Modalities"], case["Samples"]))
    rng.shuffle(pairs)
    cnt = 0
    for visit, (modality, sample) in enumerate(pairs):
        if cnt >= n_image:
            break
        if visit == 0:  # labels from the first visited sample only
            for name in set(sample[level]):
                if name in label_dict and label_dict[name] < num_classes:
                    labels[label_dict[name]] = 1.0
        paths = sample["image_data_path"]
        key_paths = sample["image_key_path"]
        ids = MODALITY_IDS[modality]  # KeyError for an unknown modality, as the official dict lookup
        if modality in IMAGE_CAP:
            picks = list(range(min(len(paths), IMAGE_CAP[modality])))
        else:  # other modalities: one image at random, also at evaluation
            picks = [rng.randrange(len(paths))]
        block, block_mods, block_marks, block_keys = [], [], [], []
        for k, idx in enumerate(picks):
            img = np.load(os.path.join(data_root, paths[idx]))
            key = int(np.load(os.path.join(data_root, key_paths[idx])).reshape(-1)[0])
            d = img.shape[-1]
            if key >= d:
                key = rng.randrange(d)
            buf = np.zeros((size, size, depth), dtype=np.float32)
            buf[:, :, :d] = img  # no resampling: a bigger d or another H/W fails here, as officially
            m = np.zeros((depth,), dtype=np.int64)
            m[:min(d, depth)] = 1
            block.append(buf)
            block_mods.append(ids[k] if modality in IMAGE_CAP else ids[0])
            block_marks.append(m)
            block_keys.append(key)
        free = n_image - cnt
        block, block_mods = block[:free], block_mods[:free]
        block_marks, block_keys = block_marks[:free], block_keys[:free]
        x = np.stack(block)  # (k,S,S,D): min-max jointly over the kept images, zero padding included
        mn, mx = x.min(), x.max()
        if mx == mn:
            print(f"warning: constant image block in sample {visit}; replaced by randn", file=sys.stderr)
            x = np.random.randn(*x.shape).astype(np.float32)
            mn, mx = x.min(), x.max()
        x = (x - mn) / (mx - mn)
        k = x.shape[0]
        images[cnt:cnt + k, 0] = x
        mods[cnt:cnt + k, 0] = block_mods
        marks[cnt:cnt + k] = np.stack(block_marks)
        keys[cnt:cnt + k, 0] = block_keys
        cnt += k
    return images, mods, marks, keys, labels


# ---------------------------------------------------------------------------------- transformer (2.3-2.5)

class StdLayerNorm(nn.Module):
    """a * (x - mean) / (std + eps) + b with the unbiased std: the official custom LayerNorm."""

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.a = nn.Parameter(torch.ones(dim))
        self.b = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True)  # unbiased (N-1)
        return self.a * (x - mean) / (std + self.eps) + self.b


class MultiHeadAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.d_k = heads, dim // heads
        self.linears = nn.ModuleList([nn.Linear(dim, dim) for _ in range(4)])  # Q, K, V, out

    def forward(self, x, mask):
        """x (B,L,H), mask (B,1,1,L) with 0 = padded key -> (out, p, scores)."""
        b, length, _ = x.shape
        q, k, v = [lin(x).view(b, length, self.heads, self.d_k).transpose(1, 2) for lin in self.linears[:3]]
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_k)
        scores = scores.masked_fill(mask == 0, -1e9)
        p = scores.softmax(dim=-1)
        out = (p @ v).transpose(1, 2).contiguous().view(b, length, self.heads * self.d_k)
        return self.linears[3](out), p, scores


class FeedForward(nn.Module):
    def __init__(self, dim, d_ff):
        super().__init__()
        self.w_1 = nn.Linear(dim, d_ff)
        self.w_2 = nn.Linear(d_ff, dim)

    def forward(self, x):
        return self.w_2(F.relu(self.w_1(x)))


class Sublayer(nn.Module):
    """Holds only the norm; named so that the state-dict key is `sublayer.{i}.norm.{a,b}`."""

    def __init__(self, dim):
        super().__init__()
        self.norm = StdLayerNorm(dim)


class EncoderLayer(nn.Module):
    def __init__(self, dim, heads, d_ff):
        super().__init__()
        self.self_attn = MultiHeadAttention(dim, heads)
        self.feed_forward = FeedForward(dim, d_ff)
        self.sublayer = nn.ModuleList([Sublayer(dim), Sublayer(dim)])

    def forward(self, x, mask):
        self.sublayer[0].norm(x)  # computed and discarded: the official attention has no pre-norm
        attn_out, p, scores = self.self_attn(x, mask)
        x = x + attn_out
        x = x + self.feed_forward(self.sublayer[1].norm(x))
        return x, p, scores


class Encoder(nn.Module):
    def __init__(self, dim, heads, d_ff, layers):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(dim, heads, d_ff) for _ in range(layers)])
        self.norm = StdLayerNorm(dim)

    def forward(self, x, mask):
        p = scores = None
        for layer in self.layers:
            x, p, scores = layer(x, mask)
        return self.norm(x), p, scores


class TransformerEncoder(nn.Module):
    """Only the executed part (`encoder`); the template submodules of the official class are dead entries."""

    def __init__(self, dim, heads, d_ff, layers):
        super().__init__()
        self.encoder = Encoder(dim, heads, d_ff, layers)

    def forward(self, x, mask):
        return self.encoder(x, mask)


class Attention1D(nn.Module):
    """Slice aggregator: CLS + learned positions, CLS row of the encoder output."""

    def __init__(self, dim, heads, d_ff, layers, positions):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_emb = nn.Parameter(torch.zeros(positions, dim))
        self.transformer_encoder = TransformerEncoder(dim, heads, d_ff, layers)

    def forward(self, x, mask):
        m = x.shape[0]
        x = torch.cat([self.cls_token.expand(m, -1, -1), x], dim=1) + self.pos_emb
        mask = torch.cat([torch.ones(m, 1, dtype=mask.dtype), mask], dim=1)
        out, p, scores = self.transformer_encoder(x, mask[:, None, None, :])
        return out[:, 0], p.mean(1)[:, 0, :], scores.mean(1)[:, 0, :]


class VitFuse(nn.Module):
    """Case-level fusion over slots: modality embedding (empty slots too), key mask, CLS, no positions."""

    def __init__(self, dim, heads, d_ff, layers, mod_num):
        super().__init__()
        self.mod_embed = nn.Parameter(torch.zeros(mod_num, dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.transformer_encoder = TransformerEncoder(dim, heads, d_ff, layers)

    def forward(self, x, mod):
        b = x.shape[0]
        x = x + self.mod_embed[mod]
        mask = torch.cat([torch.ones(b, 1, dtype=torch.bool), mod != 0], dim=1)
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], dim=1)
        out, _, _ = self.transformer_encoder(x, mask[:, None, None, :])
        return out[:, 0]


# ----------------------------------------------------------------------------------------- losses (4.1-4.2)

def kl_with_gaussian(pred, centers, cutoffs, length):
    sigma = length / 16.0
    i = torch.arange(length, dtype=torch.float32)
    g = torch.exp(-0.5 * ((i[None, :] - centers[:, None].float()) / sigma) ** 2)
    g = torch.where(i[None, :] < cutoffs[:, None], g, torch.zeros_like(g))
    t = (g / g.sum(-1, keepdim=True)).clamp(min=1e-5)
    p = pred.softmax(-1).clamp(min=1e-5)
    m = pred.shape[0]
    return 0.5 * ((t * (t.log() - p.log())).sum() + (p * (p.log() - t.log())).sum()) / m


# ----------------------------------------------------------------------------------------------- RadNet (2)

def architecture_from_state(sd):
    """Everything the state dict determines (head counts are the official constants)."""
    layer_counts = []
    for stage in range(1, 5):
        blocks = {int(k.split(".")[2]) for k in sd if k.startswith(f"resnet2D.layer{stage}.")}
        layer_counts.append(max(blocks) + 1)
    bottleneck = "resnet2D.layer1.0.conv3.weight" in sd

    def layers_of(prefix):
        idx = {int(k[len(prefix):].split(".")[0]) for k in sd if k.startswith(prefix)}
        return max(idx) + 1

    a1 = "attention1D.transformer_encoder.encoder.layers."
    vf = "vitFuse.transformer_encoder.encoder.layers."
    return {
        "block": "bottleneck" if bottleneck else "basic",
        "layers": layer_counts,
        "hid": sd["attention1D.pos_emb"].shape[1],
        "depth": sd["attention1D.pos_emb"].shape[0] - 1,
        "classes": sd["fc.2.weight"].shape[0],
        "a1_layers": layers_of(a1),
        "a1_dff": sd[a1 + "0.feed_forward.w_1.weight"].shape[0],
        "vf_layers": layers_of(vf),
        "vf_dff": sd[vf + "0.feed_forward.w_1.weight"].shape[0],
        "mod_num": sd["vitFuse.mod_embed"].shape[0],
    }


class RadNetEarly(nn.Module):
    def __init__(self, arch):
        super().__init__()
        block = torchvision.models.resnet.Bottleneck if arch["block"] == "bottleneck" else \
            torchvision.models.resnet.BasicBlock
        self.resnet2D = torchvision.models.resnet.ResNet(block, arch["layers"])
        hid, self.depth = arch["hid"], arch["depth"]
        self.attention1D = Attention1D(hid, ATTENTION1D_HEADS, arch["a1_dff"], arch["a1_layers"], self.depth + 1)
        self.vitFuse = VitFuse(hid, VITFUSE_HEADS, arch["vf_dff"], arch["vf_layers"], arch["mod_num"])
        self.fc = nn.Sequential(nn.Linear(hid, hid), nn.GELU(), nn.Linear(hid, arch["classes"]))

    def slice_features(self, x):
        """torchvision ResNet up to the pooled feature; the official wrapper never calls `fc`."""
        r = self.resnet2D
        x = r.maxpool(r.relu(r.bn1(r.conv1(x))))
        x = r.layer4(r.layer3(r.layer2(r.layer1(x))))
        return torch.flatten(r.avgpool(x), 1)

    def forward(self, image_x, mods, marks, keys, labels, with_loss=True, trace=None):
        b, n = image_x.shape[:2]
        d = image_x.shape[-1]
        mods, keys = mods.squeeze(-1).view(b, n), keys.squeeze(-1).view(b, n)
        x = image_x.repeat(1, 1, 3, 1, 1, 1)  # (B,N,3,S,S,D)
        x = x.permute(0, 1, 5, 2, 3, 4).reshape(b * n * d, 3, x.shape[3], x.shape[4])  # (b n d) c h w
        marks = marks.reshape(b * n, d)
        f = self.slice_features(x).view(b * n, d, -1)
        slot, _, score = self.attention1D(f, marks)
        score = score[:, 1:]
        z = self.vitFuse(slot.view(b, n, -1), mods)
        logits = self.fc(z)
        if trace is not None:
            trace.update(slice_features=f.view(b, n, d, -1), slot=slot.view(b, n, -1), fused=z)
        out = {"logits": logits}
        if with_loss:
            rows = mods.flatten() != 0
            loss_attn = kl_with_gaussian(score[rows], keys.flatten()[rows], marks[rows].sum(-1), d)
            loss_cls = F.binary_cross_entropy_with_logits(logits.clamp(-60, 60), labels)
            out.update(loss=loss_cls + 0.001 * loss_attn, loss_attn=0.001 * loss_attn, loss_cls=loss_cls)
        return out


def build_model(state_path):
    """-> (model in eval mode, arch, unused dead entry names). Strict on every entry the model owns."""
    sd = torch.load(state_path, map_location="cpu")
    arch = architecture_from_state(sd)
    model = RadNetEarly(arch)
    owned = set(model.state_dict().keys())
    unused = [k for k in sd if k not in owned]
    unexpected = [k for k in unused if not DEAD_ENTRY.search(k)]
    if unexpected:
        raise ValueError(f"{state_path}: entries that are neither used nor known-dead: {unexpected[:5]}")
    model.load_state_dict({k: v for k, v in sd.items() if k in owned}, strict=True)
    return model.eval(), arch, unused


# ------------------------------------------------------------------------------------------------- check

def run_check(folder):
    if not os.path.isfile(os.path.join(folder, "state_dict.bin")):
        print(f"skipped: no parity fixture at {folder}")
        return 77  # ctest SKIP_RETURN_CODE
    cfg = json.load(open(os.path.join(folder, "config.json")))
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    cases = json.load(open(os.path.join(folder, cfg["cases_json"])))
    label_dict = json.load(open(os.path.join(folder, cfg["label_dict"])))
    exp = {n: np.load(os.path.join(folder, f"expected_inputs_{n}.npy"))
           for n in ("images", "mods", "marks", "keys", "labels")}
    exp_logits = np.load(os.path.join(folder, "expected_logits.npy"))
    exp_losses = np.load(os.path.join(folder, "expected_losses.npy"))
    exp_fused = np.load(os.path.join(folder, "expected_fused.npy"))
    ok = True

    # 1. loader: the fixture indexed the cases 0..n-1 in one process after random.seed(python_random_seed).
    random.seed(manifest["python_random_seed"])
    got = {n: [] for n in exp}
    for link in cases:
        out = load_early_case(cases[link], label_dict, cfg["num_classes"], cfg["label_level"], cfg["size"],
                              cfg["depth"], cfg["n_image"], folder)
        for n, v in zip(("images", "mods", "marks", "keys", "labels"), out):
            got[n].append(v)
    loader_report = {}
    for n in exp:
        g = np.stack(got[n])
        same = g.shape == exp[n].shape and g.dtype == exp[n].dtype and np.array_equal(g, exp[n])
        loader_report[n] = {"bit_exact": bool(same),
                            "max_abs_diff": float(np.abs(g.astype(np.float64) - exp[n]).max())}
        ok &= same
    print("loader vs expected_inputs_*:", json.dumps(loader_report))

    # 2. model, fed the official loader's saved inputs; 3. end to end from our loader.
    model, arch, unused = build_model(os.path.join(folder, "state_dict.bin"))
    print(f"model: {json.dumps(arch)}; {len(unused)} dead entries not loaded")
    results = {}
    for name, inputs in (("saved_inputs", exp), ("own_loader", {n: np.stack(got[n]) for n in exp})):
        logits, losses, fused = [], [], []
        with torch.no_grad():
            for i in range(exp_logits.shape[0]):
                tr = {}
                o = model(*(torch.from_numpy(inputs[n][i:i + 1]) for n in
                            ("images", "mods", "marks", "keys", "labels")), trace=tr)
                logits.append(o["logits"][0].numpy())
                losses.append([o["loss"].item(), o["loss_attn"].item(), o["loss_cls"].item()])
                fused.append(tr["fused"][0].numpy())
        dl = float(np.abs(np.stack(logits) - exp_logits).max())
        results[name] = {"logits_max_abs_diff": dl,
                         "fused_max_abs_diff": float(np.abs(np.stack(fused) - exp_fused).max()),
                         "losses_max_abs_diff": float(np.abs(np.array(losses) - exp_losses).max())}
        ok &= dl <= cfg["tolerance"]["logits_abs"]
    print("logits vs expected_logits.npy (tolerance %g):" % cfg["tolerance"]["logits_abs"], json.dumps(results))
    print("CHECK", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", metavar="PARITY_DIR", help="reproduce the parity fixture's inputs and logits")
    a = ap.parse_args()
    if a.check:
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        sys.exit(run_check(a.check))
    ap.print_help()


if __name__ == "__main__":
    main()
