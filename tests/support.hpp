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

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <chrono>
#include <csignal>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/wait.h>

extern char** environ;

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

/// The exit status scripts/sanitize.sh gives a sanitized process that reports (ASan, LSan, UBSan).
/// UBSan's reports inside an ASan build go to stderr whatever log_path says, so a larsel child's
/// report would be lost in a test that does not look at its exit status: it fails here instead.
constexpr int kSanitizerExitCode = 86;
inline void fail_on_sanitizer_report(const ProcessResult& r) {
  if (r.exit_code == kSanitizerExitCode) FAIL_CHECK("larsel exited with the sanitizer's status " << kSanitizerExitCode << ":\n" << r.err);
}

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
  fail_on_sanitizer_report(r);
  return r;
}

/// The larsel executable started in the background with `args`, its stdout and stderr going to
/// files; the process is killed at scope exit if still running.
class BackgroundLarsel {
 public:
  explicit BackgroundLarsel(const std::vector<std::string>& args) {
    std::vector<std::string> argv_strings{LARSEL_EXECUTABLE};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (dir_ / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (dir_ / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, LARSEL_EXECUTABLE, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~BackgroundLarsel() {
    if (pid_ > 0 && !finished_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  BackgroundLarsel(const BackgroundLarsel&) = delete;
  BackgroundLarsel& operator=(const BackgroundLarsel&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (pid_ > 0 && !finished_) ::kill(pid_, sig);
  }
  /// What the process printed so far.
  [[nodiscard]] std::string out() const { return slurp(dir_ / "out"); }
  [[nodiscard]] std::string err() const { return slurp(dir_ / "err"); }
  /// Waits up to `timeout` for the exit; exit_code -1 if it did not exit in time (it is then killed)
  /// or died from a signal.
  ProcessResult wait(std::chrono::milliseconds timeout) {
    ProcessResult r;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (!finished_) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        finished_ = true;
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        finished_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    r.out = out();
    r.err = err();
    fail_on_sanitizer_report(r);
    return r;
  }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  bool finished_ = false;
};

/// A short `larsel run` configuration: the in-process emulator at a tenth of real time with small pools
/// (fast to simulate) and 300 Hz of signal (many selected frames), publishing on 127.0.0.1:`port` and
/// recording into `data`. `hdf5_keys` (indented lines) join the hdf5 section, `extra` (whole sections) ends it.
inline std::string emulator_run_config(const std::filesystem::path& data, int port, double seconds, const std::string& hdf5_keys = "",
                                       const std::string& extra = "") {
  return fmt::format(R"(run:
  seconds: {}
input:
  kind: emulator
  speed: 0.1
  pool_frames: 48
  signal_pool_frames: 16
  signal_rate_hz: 300
  seed: 3
zmq:
  publish: tcp://127.0.0.1:{}
hdf5:
  directory: {}
{}monitoring:
  interval_s: 0.25
{})",
                     seconds, port, data.string(), hdf5_keys.empty() ? "" : hdf5_keys + "\n", extra);
}

/// Waits until `process` has logged `text` on stderr; false if `timeout` passed first.
inline bool wait_for_log(const BackgroundLarsel& process, const std::string& text, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (process.err().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
inline int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = -1;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

}  // namespace larsel::test
