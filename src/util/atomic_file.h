#pragma once
// Files that must never be left half-written (checkpoints, model files, datasets) are written to a
// temporary sibling and renamed into place: a crash leaves either the old file or the new one.
#include <functional>
#include <string>

namespace raddiag {

// Calls write(tmp_path), fsyncs the result and renames it onto `path`. On any failure the temporary
// file is removed and the error propagates; `path` is untouched.
void write_file_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// Convenience: atomically replace `path` with `bytes`.
void write_bytes_atomically(const std::string& path, const std::string& bytes);

// Reads a whole file; throws raddiag::Error naming the file when it cannot be read.
std::string read_file_bytes(const std::string& path);

}  // namespace raddiag
