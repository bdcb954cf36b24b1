// Small, bounded reads of the node's own metadata files (kubelet, runtimes), with errors that name the file.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace credwatch {

struct FileContents {
  std::string data;
  std::string error;  // "<path>: <why>"; empty on success
  bool ok() const { return error.empty(); }
};

// Reads the whole file with read(2) straight into the result, so no stdio buffer keeps a second copy (the
// caller wipes data when it held a secret). A file larger than limit is an error and gives no data.
FileContents read_bounded(const std::string &path, size_t limit);

// Names in a directory (without "." and ".."); empty when it cannot be read.
std::vector<std::string> directory_entries(const std::string &path);

// True when path exists (any file type, symlinks followed).
bool path_exists(const std::string &path);

}  // namespace credwatch
