"""Hostile and odd inputs for the io readers (issue 18), written with PIL/pydicom/numpy into OUTDIR.

usage: io_hostile_inputs.py OUTDIR
Writes: JPEG/PNG whose headers declare huge images, bit-flipped JPEGs, a PNG of zeros that inflates
~1000-fold, multi-frame DICOMs whose Number of Frames disagrees with the stored frames or is not a
number, CT_small.dcm without its 128-byte preamble (with and without file meta) and pydicom's
pixel values for it (ref_ct_small.npy, float64, rows x cols x 1).
"""
import os
import struct
import sys
import zlib

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(18)

# A small real JPEG, then the same bytes with a SOF declaring 46000 x 46000.
img = (np.add.outer(np.arange(64), np.arange(64)) * 2 % 256).astype(np.uint8)
noise = rng.integers(0, 40, size=(64, 64)).astype(np.uint8)
Image.fromarray(img + noise).save(os.path.join(out, "small.jpg"), quality=90)
data = bytearray(open(os.path.join(out, "small.jpg"), "rb").read())
sof = data.find(b"\xff\xc0")
struct.pack_into(">HH", data, sof + 5, 46000, 46000)
open(os.path.join(out, "huge_46000.jpg"), "wb").write(data)

# Bit flips in the entropy-coded data (after the SOS header), at fixed positions.
orig = bytes(open(os.path.join(out, "small.jpg"), "rb").read())
sos = orig.find(b"\xff\xda")
start = sos + 2 + struct.unpack(">H", orig[sos + 2:sos + 4])[0]
end = orig.rfind(b"\xff\xd9")
for k in range(10):
    b = bytearray(orig)
    pos = start + (k * 37 + 11) % (end - start - 4)
    b[pos] ^= 1 << (k % 8)
    if b[pos] == 0xFF:  # would start a marker
        b[pos] ^= 1 << ((k + 1) % 8)
    open(os.path.join(out, f"bitflip_{k}.jpg"), "wb").write(b)


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


# ~100 bytes declaring 65535 x 65535 8-bit gray.
ihdr = struct.pack(">IIBBBBB", 65535, 65535, 8, 0, 0, 0, 0)
idat = zlib.compress(b"\x00" * 1000, 9)
open(os.path.join(out, "huge_65535.png"), "wb").write(
    b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))

# A genuine PNG of zeros that inflates ~1000-fold: 3000 x 3000 gray (9 MB of rows).
rows = b"".join(b"\x00" + b"\x00" * 3000 for _ in range(3000))
open(os.path.join(out, "zeros_3000.png"), "wb").write(
    b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 3000, 3000, 8, 0, 0, 0, 0)) +
    png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b""))


def multiframe(path, declared, stored):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.SeriesInstanceUID = generate_uid()
    ds.Rows, ds.Columns = 4, 5
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfFrames = declared
    ds.PixelData = np.arange(stored * 20, dtype="<u2").tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)


multiframe(os.path.join(out, "frames_2_of_4.dcm"), "2", 4)
# pydicom refuses to write 'abc' as IS: write a 4-character count and patch its bytes.
multiframe(os.path.join(out, "frames_abc.dcm"), "1234", 2)
b = bytearray(open(os.path.join(out, "frames_abc.dcm"), "rb").read())
at = b.find(b"\x28\x00\x08\x00IS\x04\x001234")
assert at > 0
b[at + 8:at + 12] = b"abc "
open(os.path.join(out, "frames_abc.dcm"), "wb").write(b)
multiframe(os.path.join(out, "frames_4_of_4.dcm"), "4", 4)

# CT_small.dcm without the 128-byte preamble and 'DICM': starts with group 0002 (file meta) ...
ct = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "CT_small.dcm")
raw = open(ct, "rb").read()
assert raw[128:132] == b"DICM"
open(os.path.join(out, "no_preamble.dcm"), "wb").write(raw[132:])
# ... and without file meta either: the data set itself, starting with group 0008.
ds = pydicom.dcmread(ct)
ds.preamble = None
del ds.file_meta
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.save_as(os.path.join(out, "no_meta.dcm"), write_like_original=True)
assert open(os.path.join(out, "no_meta.dcm"), "rb").read()[:2] == b"\x08\x00"
check = pydicom.dcmread(os.path.join(out, "no_preamble.dcm"), force=True)
pix = check.pixel_array.astype(np.float64) * float(check.RescaleSlope) + float(check.RescaleIntercept)
np.save(os.path.join(out, "ref_ct_small.npy"), np.asfortranarray(pix[:, :, np.newaxis]))
print("ok")
