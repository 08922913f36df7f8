#include "larsel/core/file_io.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

namespace larsel::core {

std::string read_file(const std::filesystem::path& path, std::string_view what) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(fmt::format("{}: cannot read {} ({})", path.string(), what, errno ? std::strerror(errno) : "cannot open"));
  }
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw std::runtime_error(fmt::format("{}: cannot read {} (read error)", path.string(), what));
  return bytes;
}

}  // namespace larsel::core
