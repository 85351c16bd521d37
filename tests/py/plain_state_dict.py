"""Re-saves an official state_dict (an OrderedDict, which libtorch 1.13's pickle_load cannot read) as a
plain dict of tensors: python torch is the independent reader of the official file format here.
Usage: plain_state_dict.py <official pytorch_model.bin> <out.pt>"""
import sys

import torch

sd = torch.load(sys.argv[1], map_location="cpu")
torch.save(dict(sd), sys.argv[2])
print(len(sd))
