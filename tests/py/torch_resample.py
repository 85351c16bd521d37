"""Independent reference for the official single-scan resampling (RadDiag `resample_image`): PyTorch's
F.interpolate(mode='bilinear', align_corners=False) on every slice, and the uniform slice indices
torch.arange(0, d, d/depth).long()[:depth]. One call handles a list of jobs (PyTorch starts slowly).
Usage: torch_resample.py JOBS.txt
  job lines:  resize IN.npy OUT_H OUT_W OUT.npy   (IN (H, W, D) any order; OUT Fortran order)
              indices D DEPTH OUT.txt               (the indices, space-separated)
              late IN.npy SIZE DEPTH OUT.npy        (single-scan path of reference 1.7: image part, key 0;
                                                     OUT (SIZE, SIZE, DEPTH) float32 Fortran order)
              physical IN.nii[.gz] SIZE DEPTH SLICE_MM KEEP_ASPECT OUT.npy
                                                    (opt-in geometry-aware variant of `late`, from nibabel's
                                                     array and zooms: linear slice interpolation with
                                                     align_corners=True to SLICE_MM, aspect-keeping resize
                                                     padded with the minimum, then the usual depth limit)"""
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
    elif job[0] == "physical":
        import nibabel as nib
        img = nib.load(job[1])
        a = np.asarray(img.get_fdata(), dtype=np.float32)
        zooms = [float(z) for z in img.header.get_zooms()[:3]]
        size, depth, slice_mm, keep = int(job[2]), int(job[3]), float(job[4]), job[5] == "1"
        h, w, d = a.shape
        t = torch.from_numpy(np.ascontiguousarray(a))
        if slice_mm > 0 and d > 1:
            out_d = max(2, int(np.floor(zooms[2] * (d - 1) / slice_mm + 0.5)) + 1)
            if out_d != d:
                t = F.interpolate(t.reshape(1, h * w, d), size=out_d, mode="linear", align_corners=True).reshape(h, w, out_d)
        t = t.permute(2, 0, 1).unsqueeze(1)  # (d, 1, H, W)
        if keep:
            eh, ew = h * zooms[0], w * zooms[1]
            scale = size / max(eh, ew)
            nh = min(max(int(np.floor(eh * scale + 0.5)), 1), size)
            nw = min(max(int(np.floor(ew * scale + 0.5)), 1), size)
            pad = float(t.min())
            if (nh, nw) != (h, w):
                t = F.interpolate(t, size=(nh, nw), mode="bilinear", align_corners=False)
            canvas = torch.full((t.shape[0], 1, size, size), pad)
            top, left = (size - nh) // 2, (size - nw) // 2
            canvas[:, :, top:top + nh, left:left + nw] = t
            t = canvas
        elif t.shape[2] != size or t.shape[3] != size:
            t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
        d = t.shape[0]
        if d > depth:
            t = t[torch.arange(0, d, d / depth).long()[:depth]]
        im = t.squeeze(1).permute(1, 2, 0)
        im = (im - im.min()) / (im.max() - im.min())
        out = torch.zeros((size, size, depth), dtype=torch.float32)
        out[:, :, : im.shape[-1]] = im
        np.save(job[6], np.asfortranarray(out.numpy()))
    else:
        sys.exit("unknown job " + job[0])
