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

// Reads a whole regular file (at most 2 GiB, see read_input_file); throws raddiag::Error naming the
// file when it cannot be read or is a FIFO, device or other special file.
std::string read_file_bytes(const std::string& path);

// Deletes a file or a whole directory tree (symbolic links themselves, never their targets), like
// std::filesystem::remove_all. Returns false when something could not be removed (or `path` did not
// exist). Our own, on POSIX nftw: PyTorch 2.x's libtorch.so exports its own copy of
// std::filesystem::remove_all, the dynamic linker binds our calls to it, and that copy crashed with our
// libstdc++ (`raddiag train` pruning checkpoints on the H200 check, docs/cuda.md).
bool remove_tree(const std::string& path);

}  // namespace raddiag
