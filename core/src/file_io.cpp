#include "larsel/core/file_io.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace larsel::core {
namespace {

[[noreturn]] void cannot_read(const std::filesystem::path& path, std::string_view what, std::string_view reason) {
  throw std::runtime_error(fmt::format("{}: cannot read {} ({})", path.string(), what, reason));
}

/// The whole file: a regular file in one allocation of its size, a pipe or a device (a config given as
/// <(...)) as a stream.
template <typename Bytes>
Bytes read_whole(const std::filesystem::path& path, std::string_view what) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error) cannot_read(path, what, error.message());
  if (std::filesystem::is_directory(status)) cannot_read(path, what, "a directory");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) cannot_read(path, what, errno ? std::strerror(errno) : "cannot open");
  Bytes bytes;
  if (std::filesystem::is_regular_file(status)) {
    in.seekg(0, std::ios::end);
    bytes.resize(static_cast<std::size_t>(in.tellg()));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  } else {
    for (char c; in.get(c);) bytes.push_back(static_cast<typename Bytes::value_type>(c));
  }
  if (in.bad() || (in.fail() && !in.eof())) cannot_read(path, what, "read error");
  return bytes;
}

}  // namespace

std::string read_file(const std::filesystem::path& path, std::string_view what) { return read_whole<std::string>(path, what); }

std::vector<std::byte> read_file_bytes(const std::filesystem::path& path, std::string_view what) {
  return read_whole<std::vector<std::byte>>(path, what);
}

}  // namespace larsel::core
