"""Independent reference for the official single-scan resampling (RadDiag `resample_image`): PyTorch's
F.interpolate(mode='bilinear', align_corners=False) on every slice, and the uniform slice indices
torch.arange(0, d, d/depth).long()[:depth]. One call handles a list of jobs (PyTorch starts slowly).
Usage: torch_resample.py JOBS.txt
  job lines:  resize IN.npy OUT_H OUT_W OUT.npy   (IN (H, W, D) any order; OUT Fortran order)
              indices D DEPTH OUT.txt               (the indices, space-separated)
              late IN.npy SIZE DEPTH OUT.npy        (single-scan path of reference 1.7: image part, key 0;
                                                     OUT (SIZE, SIZE, DEPTH) float32 Fortran order)"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

for line in open(sys.argv[1]):
    job = line.split()
    if not job:
        continue
    if job[0] == "resize":
        a = np.load(job[1]).astype(np.float32)
        oh, ow = int(job[2]), int(job[3])
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).unsqueeze(1)  # (D, 1, H, W)
        r = F.interpolate(t, size=(oh, ow), mode="bilinear", align_corners=False)
        np.save(job[4], np.asfortranarray(r.squeeze(1).permute(1, 2, 0).numpy()))
    elif job[0] == "indices":
        d, depth = int(job[1]), int(job[2])
        idx = torch.arange(0, d, d / depth).long()[:depth]
        with open(job[3], "w") as f:
            f.write(" ".join(str(int(i)) for i in idx))
    elif job[0] == "late":
        a = np.load(job[1]).astype(np.float32)
        size, depth = int(job[2]), int(job[3])
        if a.shape[-1] == 3 and (a[:, :, 0] == a[:, :, 1]).all() and (a[:, :, 0] == a[:, :, 2]).all():
            a = a[:, :, :1]
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).unsqueeze(1)  # (d, 1, H, W)
        d, h = t.shape[0], t.shape[2]
        if not (h == size and t.shape[3] == size and d <= depth):
            t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
            if d > depth:
                t = t[torch.arange(0, d, d / depth).long()[:depth]]
        img = t.squeeze(1).permute(1, 2, 0)  # (S, S, d')
        img = (img - img.min()) / (img.max() - img.min())
        out = torch.zeros((size, size, depth), dtype=torch.float32)
        out[:, :, : img.shape[-1]] = img
        np.save(job[4], np.asfortranarray(out.numpy()))
    else:
        sys.exit("unknown job " + job[0])
