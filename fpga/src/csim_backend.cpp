// The csim backend: the generated kernel source itself, compiled with g++
// against the project's headers (`make csim-lib` in a project written by
// `larsel export-hls`) and loaded with dlopen. Slow (bit-level ap_fixed
// arithmetic), exact: the reference the twin and the card are held to.
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "larsel/core/file_io.hpp"
#include "larsel/fpga/backend.hpp"

extern char** environ;

namespace larsel::fpga {
namespace {

/// Runs `make -C project csim-lib`, its output in project/build/csim-lib.log; throws with the log's tail on failure.
void build_kernel_library(const std::filesystem::path& project) {
  std::filesystem::create_directories(project / "build");
  const std::filesystem::path log = project / "build/csim-lib.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string make = "make", dash_c = "-C", dir = project.string(), target = "csim-lib";
  std::array<char*, 5> argv = {make.data(), dash_c.data(), dir.data(), target.data(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "make", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("csim backend: cannot run 'make' (install build-essential) to compile the kernel");
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string text = core::read_file(log, "the csim build log");
  if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
  throw std::runtime_error(fmt::format("csim backend: 'make -C {} csim-lib' failed (log {}): {}", dir, log.string(), text));
}

class CsimBackend final : public InferenceBackend {
  using RunFunction = int (*)(const unsigned char*, int*, unsigned, char*, unsigned);
  using PixelsFunction = unsigned (*)();

 public:
  CsimBackend(const BackendOptions& options, std::size_t frame_size, const models::FixedPointFormat& logit_format)
      : frame_size_(frame_size), logit_format_(logit_format) {
    const std::filesystem::path& project = options.hls_project;
    if (project.empty() || !std::filesystem::is_regular_file(project / "Makefile") ||
        !std::filesystem::is_regular_file(project / "csim/larsel_cnn_csim.cpp")) {
      throw std::invalid_argument(fmt::format("csim backend: '{}' is not a project written by larsel export-hls (no Makefile or "
                                              "csim/larsel_cnn_csim.cpp); pass --hls-project DIR", project.string()));
    }
    build_kernel_library(project);
    const std::filesystem::path library = project / "build/liblarsel_cnn_csim.so";
    handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) throw std::runtime_error(fmt::format("csim backend: cannot load {}: {}", library.string(), dlerror()));
    run_ = reinterpret_cast<RunFunction>(dlsym(handle_, "larsel_cnn_csim"));
    const auto pixels = reinterpret_cast<PixelsFunction>(dlsym(handle_, "larsel_cnn_csim_frame_pixels"));
    if (run_ == nullptr || pixels == nullptr) throw std::runtime_error(fmt::format("csim backend: {} lacks the larsel_cnn_csim entry", library.string()));
    if (pixels() != frame_size_) {
      throw std::invalid_argument(fmt::format("csim backend: the kernel in {} takes {}-pixel frames, the model {}", project.string(), pixels(), frame_size_));
    }
  }
  ~CsimBackend() override {
    if (handle_ != nullptr) dlclose(handle_);
  }
  CsimBackend(const CsimBackend&) = delete;
  CsimBackend& operator=(const CsimBackend&) = delete;

  [[nodiscard]] std::string name() const override { return "csim"; }
  [[nodiscard]] std::size_t frame_size() const override { return frame_size_; }
  [[nodiscard]] models::FixedPointFormat logit_format() const override { return logit_format_; }

  void infer(std::span<const std::uint8_t> frames, std::span<double> logits) override {
    if (frames.size() % frame_size_ != 0) throw std::invalid_argument(fmt::format("csim backend: {} bytes are not whole {}-pixel frames", frames.size(), frame_size_));
    const std::size_t n = frames.size() / frame_size_;
    if (logits.size() < n) throw std::invalid_argument(fmt::format("csim backend: {} logits for {} frames", logits.size(), n));
    scores_.resize(n);
    std::array<char, 512> error{};
    if (run_(frames.data(), scores_.data(), static_cast<unsigned>(n), error.data(), error.size()) != 0) {
      throw std::runtime_error(fmt::format("csim backend: the kernel failed: {}", error.data()));
    }
    for (std::size_t i = 0; i < n; ++i) logits[i] = std::ldexp(static_cast<double>(scores_[i]), -logit_format_.fractional_bits());
  }

 private:
  std::size_t frame_size_;
  models::FixedPointFormat logit_format_;
  void* handle_ = nullptr;
  RunFunction run_ = nullptr;
  std::vector<int> scores_;
};

}  // namespace

std::unique_ptr<InferenceBackend> make_csim_backend(const BackendOptions& options, std::size_t frame_size,
                                                    const models::FixedPointFormat& logit_format) {
  return std::make_unique<CsimBackend>(options, frame_size, logit_format);
}

}  // namespace larsel::fpga
