"""One slice of a synthetic DICOM series, written with pydicom: the header fields the series readers use
(UIDs, instance number, orientation, position, spacing, rescale, 16-bit pixels), shared by the scripts that
build DICOM fixtures (io_dicom_reference.py, diagnose_dicom_study.py)."""
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def series_slice(pixels, modality, series_uid, study_uid, instance, iop, ipp, pixel_spacing, thickness,
                 slope=1.0, intercept=0.0, mono="MONOCHROME2"):
    """pixels: 2-D uint16 or int16 array (rows, cols)."""
    assert pixels.ndim == 2 and pixels.dtype in (np.uint16, np.int16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid
    ds.StudyInstanceUID = study_uid
    ds.InstanceNumber = instance
    ds.ImageOrientationPatient = [float(v) for v in iop]
    ds.ImagePositionPatient = [float(v) for v in ipp]
    ds.PixelSpacing = [float(v) for v in pixel_spacing]
    ds.SliceThickness = float(thickness)
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = mono
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    ds.RescaleSlope, ds.RescaleIntercept = float(slope), float(intercept)
    ds.PixelData = pixels.tobytes()
    return ds
