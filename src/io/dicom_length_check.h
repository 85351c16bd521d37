#pragma once
// A pre-flight walk over a DICOM file's element headers, done before GDCM parses it: GDCM allocates
// each element's declared length before reading it, so one corrupt length field would make it
// allocate (and zero) up to 4 GiB. The walk reads only tags and lengths (seeking over values,
// descending into sequences and items) and reports the first element whose declared length runs past
// the end of the file. It is conservative: when the structure is not understood (deflated data,
// inconsistent VRs) it stops and lets GDCM decide.
#include <string>

namespace raddiag::io {

// "" when no element overruns the file; otherwise the reason, e.g.
// "element (0010,0010) declares 4294967040 bytes but only 812 remain".
std::string find_overlong_dicom_element(const std::string& path);

}  // namespace raddiag::io
