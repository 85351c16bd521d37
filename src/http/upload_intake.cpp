#include "http/upload_intake.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "jobs/sha256.h"
#include "util/zip_reader.h"

namespace raddiag::http {
namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool starts_with(std::string_view b, std::string_view magic) { return b.size() >= magic.size() && b.substr(0, magic.size()) == magic; }

void write_new_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(path, std::string("cannot create: ") + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      throw Error(path, std::string("cannot write: ") + std::strerror(e));
    }
    done += static_cast<std::size_t>(w);
  }
  // On disk before the job is accepted: a job in the database must find its files after a crash.
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw Error(path, std::string("cannot write: ") + std::strerror(errno));
}

struct Pending {
  std::string name;
  std::string kind;
  std::string_view bytes;
};

}  // namespace

std::string upload_kind(const std::string& raw_name, std::string_view b) {
  std::string name = raw_name;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ends_with(name, ".nii.gz")) return "nii.gz";
  if (ends_with(name, ".nii")) return "nii";
  if (ends_with(name, ".dcm") || ends_with(name, ".dicom")) return "dcm";
  if (ends_with(name, ".png")) return "png";
  if (ends_with(name, ".jpg") || ends_with(name, ".jpeg")) return "jpg";
  if (ends_with(name, ".npy")) return "npy";
  if (ends_with(name, ".zip")) return "zip";
  // No known suffix: the content's signature.
  if (b.size() >= 132 && b.substr(128, 4) == "DICM") return "dcm";
  if (starts_with(b, "\x89PNG\r\n\x1a\n")) return "png";
  if (starts_with(b, "\xff\xd8\xff")) return "jpg";
  if (starts_with(b, "\x93NUMPY")) return "npy";
  if (starts_with(b, "PK\x03\x04")) return "zip";
  return "";
}

bool hostile_entry_name(std::string_view n) {
  if (n.empty() || n.front() == '/' || n.find('\\') != std::string_view::npos || n.find('\0') != std::string_view::npos) return true;
  if (n.size() >= 2 && n[1] == ':') return true;  // C:...
  std::size_t start = 0;
  while (start <= n.size()) {
    const std::size_t end = std::min(n.find('/', start), n.size());
    if (n.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

IntakeResult save_upload(const std::vector<UploadedFile>& files, const std::string& input_dir, const IntakeLimits& limits) {
  if (files.empty()) throw RequestError(400, "upload", "no files: send multipart/form-data with one or more 'files' parts");
  if (static_cast<int64_t>(files.size()) > limits.max_files)
    throw RequestError(413, "upload", std::to_string(files.size()) + " files, more than the limit of " + std::to_string(limits.max_files));
  IntakeResult r;
  std::vector<Pending> pending;
  std::vector<std::string> zip_scratch;   // inflated zip entries live here until written
  std::unique_ptr<zip::Reader> archive;
  const auto is_zip = [](const UploadedFile& f) { return upload_kind(f.name, f.bytes) == "zip"; };
  const std::size_t zips = static_cast<std::size_t>(std::count_if(files.begin(), files.end(), is_zip));
  if (zips > 0 && files.size() > 1) throw RequestError(400, "upload", "a zip archive must be the only file of its study");
  if (zips == 1) {
    const auto& z = files[0];
    zip::Limits zl;
    zl.max_entries = static_cast<std::size_t>(limits.max_files) * 4 + 16;
    zl.max_inflated_bytes = limits.max_bytes;
    zl.max_total_inflated_bytes = limits.max_bytes;
    zl.max_inflated_base_bytes = std::min<uint64_t>(limits.max_bytes, uint64_t(64) << 20);
    zl.max_inflation_ratio = 32;
    try {
      archive = std::make_unique<zip::Reader>(reinterpret_cast<const uint8_t*>(z.bytes.data()), z.bytes.size(), "uploaded zip", zl);
    } catch (const Error& e) {
      throw RequestError(400, "upload", std::string("not a readable zip archive: ") + e.what());
    }
    uint64_t declared = 0;
    int64_t n_files = 0;
    for (const auto& e : archive->entries()) {
      if (hostile_entry_name(e.name)) throw RequestError(400, "upload", "zip entry name escapes the archive's folder: refused");
      if (!e.name.empty() && e.name.back() == '/') continue;  // a folder
      ++n_files;
      declared += e.size;
    }
    if (n_files > limits.max_files)
      throw RequestError(413, "upload", "zip holds " + std::to_string(n_files) + " files, more than the limit of " + std::to_string(limits.max_files));
    if (declared > limits.max_bytes)
      throw RequestError(413, "upload", "zip entries expand to " + std::to_string(declared) + " bytes, more than the limit of " +
                                            std::to_string(limits.max_bytes));
    zip_scratch.reserve(archive->entries().size());
    for (const auto& e : archive->entries()) {
      if (!e.name.empty() && e.name.back() == '/') continue;
      zip_scratch.emplace_back();
      std::string_view bytes;
      try {
        bytes = archive->read(e, zip_scratch.back());
      } catch (const Error& err) {
        // The inflation budget or a size that lies: a bomb or a broken archive.
        const std::string what = err.what();
        const bool too_big = what.find("expand to more than") != std::string::npos || what.find("implausible size") != std::string::npos;
        throw RequestError(too_big ? 413 : 400, "upload", "zip entry cannot be extracted: " + what);
      }
      if (bytes.size() != e.size) throw RequestError(400, "upload", "zip entry's size differs from its header");
      const std::string kind = upload_kind(e.name, bytes);
      if (kind.empty() || kind == "zip") {
        r.ignored.push_back("zip entry " + std::to_string(&e - archive->entries().data()) + ": not a supported file type");
        continue;
      }
      pending.push_back({e.name, kind, bytes});
    }
  } else {
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::string kind = upload_kind(files[i].name, files[i].bytes);
      if (kind.empty()) {
        r.ignored.push_back("file " + std::to_string(i) + ": not a supported file type");
        continue;
      }
      pending.push_back({files[i].name, kind, files[i].bytes});
    }
  }
  if (pending.empty()) throw RequestError(415, "upload", "no DICOM, NIfTI, PNG, JPEG or npy file in the upload");
  uint64_t total = 0;
  for (const auto& p : pending) total += p.bytes.size();
  if (total > limits.max_bytes)
    throw RequestError(413, "upload", std::to_string(total) + " bytes, more than the limit of " + std::to_string(limits.max_bytes));

  if (::mkdir(input_dir.c_str(), 0700) != 0) throw Error(input_dir, std::string("cannot create: ") + std::strerror(errno));
  std::vector<std::string> digests;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const std::string path = input_dir + "/" + std::to_string(i) + "." + pending[i].kind;
    write_new_file(path, pending[i].bytes);
    r.files.push_back(path);
    r.bytes += pending[i].bytes.size();
    digests.push_back(pending[i].kind + ":" + jobs::sha256_hex(pending[i].bytes));
  }
  std::sort(digests.begin(), digests.end());
  jobs::Sha256 h;
  for (const auto& d : digests) h.update(d + "\n");
  r.content_hash = h.hex_digest();
  return r;
}

}  // namespace raddiag::http
