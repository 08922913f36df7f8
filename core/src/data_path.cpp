#include "larsel/core/data_path.hpp"

#include <cstdlib>
#include <system_error>

namespace larsel::core {
namespace fs = std::filesystem;
namespace {

/// share/larsel beside the running executable's directory (may not exist).
fs::path installed_data_dir() {
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (error) return {};
  return executable.parent_path().parent_path() / "share" / "larsel";
}

}  // namespace

fs::path find_data_file(const fs::path& path) {
  std::error_code error;
  if (path.empty() || path.is_absolute() || fs::exists(path, error)) return path;
  if (const char* dir = std::getenv("LARSEL_DATA_DIR"); dir != nullptr && *dir != '\0') {
    if (const fs::path candidate = fs::path(dir) / path; fs::exists(candidate, error)) return candidate;
  }
  if (const fs::path installed = installed_data_dir(); !installed.empty()) {
    if (const fs::path candidate = installed / path; fs::exists(candidate, error)) return candidate;
  }
  return path;
}

}  // namespace larsel::core
