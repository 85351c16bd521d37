"""Writes a tiny Hugging Face-format BERT or MPNet model folder with random weights and computes its
reference outputs with a hand-written float64 forward pass that follows HF BertModel / MPNetModel
(post-norm layers, erf GELU, LayerNorm eps from config.json, extended mask = (1-m)*finfo.min,
MPNet's relative position buckets and padding-offset position ids).

usage: text_tiny_encoder.py OUT_DIR bert|mpnet
writes OUT_DIR/model/{config.json, vocab.txt, pytorch_model.bin}, OUT_DIR/weights/<key>.npy,
OUT_DIR/{input_ids,attention_mask,hidden,mean_norm,cls}.npy
"""
import json
import math
import os
import sys

import numpy as np
import torch

out, kind = sys.argv[1], sys.argv[2]
os.makedirs(out + "/model", exist_ok=True)
os.makedirs(out + "/weights", exist_ok=True)
g = torch.Generator().manual_seed(1234)

V, H, NL, NH, I = 50, 32, 2, 4, 64
pad = 0 if kind == "bert" else 1
cfg = {"model_type": kind, "vocab_size": V, "hidden_size": H, "num_hidden_layers": NL,
       "num_attention_heads": NH, "intermediate_size": I, "hidden_act": "gelu",
       "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
       "layer_norm_eps": 1e-12 if kind == "bert" else 1e-5, "pad_token_id": pad}
if kind == "bert":
    cfg.update(max_position_embeddings=40, type_vocab_size=2)
else:
    cfg.update(max_position_embeddings=42, relative_attention_num_buckets=32)
json.dump(cfg, open(out + "/model/config.json", "w"), indent=1)

if kind == "bert":
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
else:
    specials = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]
vocab = specials + ["w%d" % i for i in range(V - len(specials))]
open(out + "/model/vocab.txt", "w").write("\n".join(vocab) + "\n")

def rnd(*shape, scale=0.5):
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

W = {}
p = "embeddings."
W[p + "word_embeddings.weight"] = rnd(V, H)
W[p + "position_embeddings.weight"] = rnd(cfg["max_position_embeddings"], H)
if kind == "bert":
    W[p + "token_type_embeddings.weight"] = rnd(2, H)
W[p + "LayerNorm.weight"] = 1 + rnd(H, scale=0.1)
W[p + "LayerNorm.bias"] = rnd(H, scale=0.1)
for l in range(NL):
    p = "encoder.layer.%d." % l
    names = (["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]
             if kind == "bert" else
             ["attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o"])
    for n in names:
        W[p + n + ".weight"] = rnd(H, H, scale=1 / math.sqrt(H))
        W[p + n + ".bias"] = rnd(H, scale=0.1)
    ln1 = "attention.output.LayerNorm" if kind == "bert" else "attention.LayerNorm"
    W[p + ln1 + ".weight"] = 1 + rnd(H, scale=0.1)
    W[p + ln1 + ".bias"] = rnd(H, scale=0.1)
    W[p + "intermediate.dense.weight"] = rnd(I, H, scale=1 / math.sqrt(H))
    W[p + "intermediate.dense.bias"] = rnd(I, scale=0.1)
    W[p + "output.dense.weight"] = rnd(H, I, scale=1 / math.sqrt(I))
    W[p + "output.dense.bias"] = rnd(H, scale=0.1)
    W[p + "output.LayerNorm.weight"] = 1 + rnd(H, scale=0.1)
    W[p + "output.LayerNorm.bias"] = rnd(H, scale=0.1)
if kind == "mpnet":
    W["encoder.relative_attention_bias.weight"] = rnd(32, NH)
# Round to float32 first: the reference uses exactly the weights C++ will load.
W = {k: v.float().double() for k, v in W.items()}
extra = {"pooler.dense.weight": rnd(H, H).float(), "pooler.dense.bias": rnd(H).float()}

prefix = "bert." if kind == "bert" else ""  # the C++ loader must detect and strip it
sd = {prefix + k: v.float() for k, v in W.items()}
sd.update({prefix + k: v for k, v in extra.items()})
if kind == "bert":
    sd["bert.embeddings.position_ids"] = torch.arange(40).unsqueeze(0)
torch.save(sd, out + "/model/pytorch_model.bin")
for k, v in W.items():
    np.save(out + "/weights/" + k + ".npy", v.float().numpy())

# Inputs: three rows with padding.
S = [[5, 9, 17, 33], [7, 8], [12, 40, 41, 42, 43, 49, 6]]
L = max(len(s) for s in S) + 2
cls_id, sep_id = (2, 3) if kind == "bert" else (0, 2)
ids = torch.full((len(S), L), pad, dtype=torch.long)
mask = torch.zeros((len(S), L), dtype=torch.long)
for i, s in enumerate(S):
    row = [cls_id] + s + [sep_id]
    ids[i, :len(row)] = torch.tensor(row)
    mask[i, :len(row)] = 1

eps = cfg["layer_norm_eps"]
def ln(x, name):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * W[name + ".weight"] + W[name + ".bias"]
def lin(x, name):
    return x @ W[name + ".weight"].T + W[name + ".bias"]
def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

def bucket(rel, num_buckets=32, max_distance=128):
    # HF MPNetEncoder.relative_position_bucket, float32 like the original.
    ret = 0
    n = -rel
    num_buckets //= 2
    ret += (n < 0).to(torch.long) * num_buckets
    n = torch.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                                * (num_buckets - max_exact)).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    return ret + torch.where(is_small, n, val_if_large)

B = ids.shape[0]
ext = (1.0 - mask[:, None, None, :].double()) * torch.finfo(torch.float64).min
if kind == "bert":
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][torch.arange(L)][None] \
        + W["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
else:
    m = (ids != pad).long()
    pos = torch.cumsum(m, 1) * m + pad
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][pos]
    ctx_pos = torch.arange(L)[:, None]
    mem_pos = torch.arange(L)[None, :]
    rb = bucket(mem_pos - ctx_pos)
    bias = W["encoder.relative_attention_bias.weight"][rb].permute(2, 0, 1)[None]
x = ln(x, "embeddings.LayerNorm")
d = H // NH
def heads(t):
    return t.view(B, L, NH, d).permute(0, 2, 1, 3)
for l in range(NL):
    p = "encoder.layer.%d." % l
    if kind == "bert":
        q, k, v = (heads(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
    else:
        q, k, v = (heads(lin(x, p + "attention.attn." + n)) for n in ("q", "k", "v"))
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    if kind == "mpnet":
        s = s + bias
    s = s + ext
    c = (torch.softmax(s, -1) @ v).permute(0, 2, 1, 3).reshape(B, L, H)
    if kind == "bert":
        a = ln(lin(c, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
    else:
        a = ln(lin(c, p + "attention.attn.o") + x, p + "attention.LayerNorm")
    h = gelu(lin(a, p + "intermediate.dense"))
    x = ln(lin(h, p + "output.dense") + a, p + "output.LayerNorm")

mf = mask[..., None].double()
mean = (x * mf).sum(1) / torch.clamp(mf.sum(1), min=1e-9)
mean = mean / torch.clamp(mean.norm(dim=1, keepdim=True), min=1e-12)
np.save(out + "/input_ids.npy", ids.numpy())
np.save(out + "/attention_mask.npy", mask.numpy())
np.save(out + "/hidden.npy", x.float().numpy())
np.save(out + "/mean_norm.npy", mean.float().numpy())
np.save(out + "/cls.npy", x[:, 0].float().numpy())
if kind == "mpnet":
    rel = torch.arange(-300, 301)
    np.save(out + "/bucket_rel.npy", rel.numpy())
    np.save(out + "/bucket_32_128.npy", bucket(rel).numpy())
    np.save(out + "/bucket_16_64.npy", bucket(rel, 16, 64).numpy())
print("ok")
