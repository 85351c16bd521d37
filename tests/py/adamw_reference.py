"""Reference for test_optim: torch.optim.AdamW with two parameter groups (bias: lr x3, no decay),
clip_grad_norm_ at 0.5, and the HF cosine-with-warm-up lambda (warm-up ceil(0.2*T)) via LambdaLR."""
import math
import sys

import numpy as np
import torch

d, steps = sys.argv[1], int(sys.argv[2])
w = torch.tensor(np.load(f"{d}/w.npy"))
b = torch.tensor(np.load(f"{d}/b.npy"))
x = torch.tensor(np.load(f"{d}/x.npy"))
y = torch.tensor(np.load(f"{d}/y.npy"))
lin = torch.nn.Linear(3, 5)
with torch.no_grad():
    lin.weight.copy_(w)
    lin.bias.copy_(b)
opt = torch.optim.AdamW([{"params": [lin.weight], "lr": 0.05, "weight_decay": 0.01},
                         {"params": [lin.bias], "lr": 0.15, "weight_decay": 0.0}],
                        betas=(0.9, 0.999), eps=1e-8)
warmup = math.ceil(0.2 * steps)


def lam(step):  # transformers.get_cosine_schedule_with_warmup
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, steps - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
for k in range(steps):
    opt.zero_grad()
    loss = ((lin(x[k]) - y[k]) ** 2).mean() * 10.0
    loss.backward()
    torch.nn.utils.clip_grad_norm_(lin.parameters(), 0.5)
    opt.step()
    sched.step()
np.save(f"{d}/w_out.npy", lin.weight.detach().numpy())
np.save(f"{d}/b_out.npy", lin.bias.detach().numpy())
