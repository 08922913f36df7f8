#pragma once
// Helpers shared by the tests: fixture location, temporary files, processes.
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <sys/wait.h>

namespace larsel::test {

/// The ProtoDUNE-HD fixture folder (../shared/fixtures/protodune-hd, or
/// $LARSEL_FIXTURE_DIR), or nullopt after printing SKIPPED when it is absent,
/// as in a user's clone; CTest then reports the test as skipped.
inline std::optional<std::filesystem::path> fixture_dir() {
  const char* override_dir = std::getenv("LARSEL_FIXTURE_DIR");
  const std::filesystem::path dir = override_dir != nullptr ? override_dir : LARSEL_FIXTURE_DIR;
  if (std::filesystem::exists(dir / "wibeth_fragment.bin")) return dir;
  std::cout << "SKIPPED: ProtoDUNE-HD fixture not found at " << dir << '\n';
  return std::nullopt;
}

inline std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

/// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("larsel-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Run the larsel executable with `args` (a shell-quoted string) and capture everything.
inline ProcessResult run_larsel(const std::string& args) {
  TempDir dir;
  const std::string command = std::string("'") + LARSEL_EXECUTABLE + "' " + args + " >'" + (dir / "out").string() +
                              "' 2>'" + (dir / "err").string() + "' </dev/null";
  const int status = std::system(command.c_str());
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

}  // namespace larsel::test
