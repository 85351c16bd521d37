#pragma once
// Writing outputs. Files that must never be left half-written (checkpoints, model files, datasets)
// are written to a temporary sibling and renamed into place: a crash leaves either the old file or
// the new one. The rename only ever replaces a regular file: a symbolic link is written through (to
// its target), a FIFO, device or socket is written directly, and a directory is refused, so an
// output path never replaces what a user (or the system) keeps there.
#include <functional>
#include <string>
#include <vector>

namespace raddiag {

// Writes `path` through write(where):
//   - `path` is a regular file or does not exist: write(temporary sibling), fsync, rename onto `path`
//     (the old file's permission bits are kept). On any failure the temporary file is removed and
//     the error propagates; `path` is untouched.
//   - `path` is a symbolic link (chain): the same, applied to the link's final target; the link stays.
//   - `path` is a FIFO, character/block device or socket: write(path) directly (no rename, no fsync).
//   - `path` is a directory: raddiag::Error naming it.
void write_file_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// Convenience: write `bytes` to `path` as above.
void write_bytes_atomically(const std::string& path, const std::string& bytes);

// True when both paths name the same existing file (same device and inode, after following
// symbolic links: also catches hard links and other spellings of one path).
bool same_file(const std::string& a, const std::string& b);

// Throws raddiag::Error naming `output` when it is the same file as one of `inputs`: a command must
// never overwrite what it reads. Inputs that do not exist are ignored.
void refuse_to_overwrite_inputs(const std::string& output, const std::vector<std::string>& inputs);

// Reads a whole regular file (read_input_file: FIFOs, devices and files over 2 GiB refused); throws
// raddiag::Error naming the file when it cannot be read.
std::string read_file_bytes(const std::string& path);

// Deletes a file or a whole directory tree (symbolic links themselves, never their targets), like
// std::filesystem::remove_all. Returns false when something could not be removed (or `path` did not
// exist). Our own, on POSIX nftw: PyTorch 2.x's libtorch.so exports its own copy of
// std::filesystem::remove_all, the dynamic linker binds our calls to it, and that copy crashed with our
// libstdc++ (`raddiag train` pruning checkpoints on the H200 check, docs/cuda.md).
bool remove_tree(const std::string& path);

}  // namespace raddiag
