"""Independent reference for the PNG/JPEG reader: PIL.

usage: io_image_reference.py OUTDIR SHARED_DATA
For every real image under SHARED_DATA/real and for generated PNG/JPEG variants (16-bit gray,
palette, gray+alpha, RGBA, 1/2/4-bit gray, gray and colour JPEG) writes OUTDIR/ref_<n>.npy:
the image as PIL decodes it, float64 (H, W, 1): the single channel when all channels are equal, else
Image.convert('L'); 16-bit gray as stored. 16-bit RGB (which PIL cannot keep at 16 bits) is written by
hand and its reference computed with the fixed-point formula the script first checks against PIL.
cases.txt: "path<TAB>n".
"""
import glob
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

out, shared = sys.argv[1], sys.argv[2]
gen = os.path.join(out, "gen")
os.makedirs(gen, exist_ok=True)
rng = np.random.default_rng(2)


def l24(r, g, b):
    return (r.astype(np.uint64) * 19595 + g.astype(np.uint64) * 38470 + b.astype(np.uint64) * 7471 + 0x8000) >> 16


# The formula must be PIL's: check it on many random colours.
rgb = rng.integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
pil_l = np.asarray(Image.fromarray(rgb, "RGB").convert("L"))
assert np.array_equal(pil_l, l24(rgb[..., 0], rgb[..., 1], rgb[..., 2])), "PIL's L conversion differs from the formula"


def reference(path):
    im = Image.open(path)
    im.load()
    if im.mode in ("I;16", "I;16B", "I"):
        a = np.asarray(im).astype(np.float64)
    elif im.mode in ("RGB", "RGBA"):
        a = np.asarray(im.convert("RGB")).astype(np.int64)
        if np.all(a[..., 0] == a[..., 1]) and np.all(a[..., 0] == a[..., 2]):
            a = a[..., 0].astype(np.float64)
        else:
            a = np.asarray(im.convert("L")).astype(np.float64)
    else:  # L, LA, P, 1
        a = np.asarray(im.convert("L")).astype(np.float64)
    return a[..., np.newaxis]


files = sorted(p for p in glob.glob(os.path.join(shared, "real", "*", "*", "*"))
               if p.lower().endswith((".png", ".jpg", ".jpeg")))

img = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
smooth = np.clip(np.add.outer(np.arange(37) * 5, np.arange(53) * 3), 0, 255).astype(np.uint8)
g16 = rng.integers(0, 65536, size=(29, 31), dtype=np.uint16)
cases = {
    "gray16.png": Image.fromarray(g16, "I;16"),
    "palette.png": Image.fromarray(img).convert("P", palette=Image.ADAPTIVE, colors=37),
    "gray_alpha.png": Image.fromarray(np.dstack([smooth, 255 - smooth]), "LA"),
    "rgba.png": Image.fromarray(np.dstack([img, smooth]), "RGBA"),
    "rgb.png": Image.fromarray(img, "RGB"),
    "one_bit.png": Image.fromarray(smooth > 128),
    "gray.jpg": Image.fromarray(smooth, "L"),
    "color.jpg": Image.fromarray(np.dstack([smooth, 255 - smooth, smooth // 2]), "RGB"),
}
for name, im in cases.items():
    p = os.path.join(gen, name)
    im.save(p, quality=90) if name.endswith(".jpg") else im.save(p)
    files.append(p)


def write_png(path, array, color_type, bit_depth, channels=1):
    """A minimal PNG writer (no filtering, no interlace) for what PIL cannot write: 16-bit RGB, 2/4-bit gray."""
    h, w = array.shape[0], array.shape[1] // channels
    if bit_depth < 8:
        per = 8 // bit_depth
        rows = []
        for r in array:
            padded = np.concatenate([r, np.zeros((-len(r)) % per, dtype=r.dtype)]).reshape(-1, per)
            packed = np.zeros(len(padded), dtype=np.uint8)
            for i in range(per):
                packed |= (padded[:, i].astype(np.uint8) << (8 - bit_depth * (i + 1)))
            rows.append(packed.tobytes())
    else:
        rows = [r.astype(">u2" if bit_depth == 16 else np.uint8).tobytes() for r in array]
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


refs = {}
rgb16 = rng.integers(0, 65536, size=(11, 13, 3), dtype=np.uint16)
write_png(os.path.join(gen, "rgb16.png"), rgb16.reshape(11, -1), 2, 16, channels=3)
refs[os.path.join(gen, "rgb16.png")] = l24(rgb16[..., 0], rgb16[..., 1], rgb16[..., 2]).astype(np.float64)[..., None]
for depth in (2, 4):
    g = rng.integers(0, 2 ** depth, size=(7, 9), dtype=np.uint8)
    p = os.path.join(gen, f"gray{depth}.png")
    write_png(p, g, 0, depth)
    files.append(p)  # PIL decodes these itself

with open(os.path.join(out, "cases.txt"), "w") as f:
    n = 0
    for p in files + list(refs):
        a = refs[p] if p in refs else reference(p)
        np.save(os.path.join(out, f"ref_{n}.npy"), np.asfortranarray(a))
        f.write(f"{p}\t{n}\n")
        n += 1
print(n, "images")
