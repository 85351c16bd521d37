"""Independent check (pydicom) that DICOM instances came back unchanged: pairs the files of two folders
(searched recursively) by SOP Instance UID and compares their Pixel Data bytes and Study/Series UIDs.
Usage: pacs_compare_pixels.py SENT_DIR RECEIVED_DIR -> JSON {sent, received, equal, missing, different}"""
import json
import os
import sys
import warnings

import pydicom

warnings.simplefilter("ignore")


def index(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if not n.endswith(".dcm"):
                continue
            ds = pydicom.dcmread(os.path.join(dirpath, n))
            out[str(ds.SOPInstanceUID)] = (bytes(ds.PixelData), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
    return out


sent, received = index(sys.argv[1]), index(sys.argv[2])
equal = [k for k in sent if k in received and received[k] == sent[k]]
print(json.dumps({
    "sent": len(sent), "received": len(received), "equal": len(equal),
    "missing": sorted(k for k in sent if k not in received),
    "different": sorted(k for k in sent if k in received and received[k] != sent[k]),
}))
