"""Independent reference for loading torchvision ResNet weights into raddiag's slice encoder
(tests/model/test_torchvision_resnet.cpp), with Debian's python3-torchvision.

  torchvision_resnet_reference.py OUT_DIR

For resnet18 and resnet50: builds torchvision's model with random weights (seeded; every BatchNorm's
affine parameters and running statistics randomised so that eval-mode BN matters), writes its
state_dict() with torch.save as OUT_DIR/<arch>-<8 hex>.pth (the download's naming: the first 8 hex digits
of the file's SHA-256), and the backbone features (after avgpool, before fc) of a fixed grey input
repeated to 3 channels, as the official model feeds it: OUT_DIR/input.npy [2, 1, 64, 64] and
OUT_DIR/<arch>-features.npy [2, F]. OUT_DIR/files.json maps arch -> checkpoint file name.
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torchvision


def randomise(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) * 0.5 + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(7)


def main(out):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(20261206)
    grey = torch.rand(2, 1, 64, 64, generator=gen)
    np.save(os.path.join(out, "input.npy"), grey.numpy())
    files = {}
    for arch in ("resnet18", "resnet50"):
        torch.manual_seed(7)
        model = getattr(torchvision.models, arch)(weights=None)
        randomise(model, gen)
        model.eval()
        tmp = os.path.join(out, arch + ".tmp")
        torch.save(model.state_dict(), tmp)
        with open(tmp, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        name = f"{arch}-{digest[:8]}.pth"
        os.replace(tmp, os.path.join(out, name))
        files[arch] = name
        trunk = torch.nn.Sequential(*list(model.children())[:-1])  # everything up to avgpool
        with torch.no_grad():
            feats = trunk(grey.repeat(1, 3, 1, 1)).flatten(1)
        np.save(os.path.join(out, arch + "-features.npy"), feats.numpy())
    with open(os.path.join(out, "files.json"), "w") as f:
        json.dump(files, f)


if __name__ == "__main__":
    main(sys.argv[1])
