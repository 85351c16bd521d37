"""Independent reference for the official single-scan resampling (RadDiag `resample_image`): PyTorch's
F.interpolate(mode='bilinear', align_corners=False) on every slice, and the uniform slice indices
torch.arange(0, d, d/depth).long()[:depth]. One call handles a list of jobs (PyTorch starts slowly).
Usage: torch_resample.py JOBS.txt
  job lines:  resize IN.npy OUT_H OUT_W OUT.npy   (IN (H, W, D) any order; OUT Fortran order)
              indices D DEPTH OUT.txt               (the indices, space-separated)"""
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
    else:
        sys.exit("unknown job " + job[0])
