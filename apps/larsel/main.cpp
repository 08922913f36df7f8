// larsel: real-time data selection for LArTPC readout.
// Exit codes: 0 success, 1 runtime failure, 2 usage error.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/core/kernel_set.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/pipeline/selected_frame_writer.hpp"

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("larsel");
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

/// The exit code, after a last check: when HDF5 holds a recording it could not close (a write error
/// then a failed close), its shutdown at exit would crash on it, so the process ends with
/// std::_Exit once the output is flushed (the file is what it was at its last flush).
int finish(int code) {
  if (!larsel::pipeline::hdf5_shutdown_would_crash()) return code;
  std::fflush(nullptr);
  spdlog::shutdown();
  std::_Exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  // A file-size limit (RLIMIT_FSIZE) then makes a write fail with EFBIG, a counted and reported
  // write error, instead of killing the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"LArSel: real-time data selection for liquid-argon TPC readout", "larsel"};
  app.set_version_flag("--version", std::string("larsel ") + LARSEL_VERSION);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log verbosity")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  std::string kernels;
  app.add_option("--kernels", kernels,
                 "Kernel set for the hot paths (WIBEth unpack, preprocess, twin): baseline, avx2, avx512 or avx512vnni, at most "
                 "what this CPU runs (default: the best it runs; the LARSEL_KERNELS environment variable does the same)")
      ->check(CLI::IsMember({"baseline", "avx2", "avx512", "avx512vnni"}));

  larsel::app::Action action;
  larsel::app::add_run_command(app, action);
  larsel::app::add_listen_command(app, action);
  larsel::app::add_record_command(app, action);
  larsel::app::add_recover_command(app, action);
  larsel::app::add_demo_command(app, action);
  larsel::app::add_emulate_command(app, action);
  larsel::app::add_receive_command(app, action);
  larsel::app::add_simulate_command(app, action);
  larsel::app::add_display_command(app, action);
  larsel::app::add_preprocess_command(app, action);
  larsel::app::add_train_command(app, action);
  larsel::app::add_eval_command(app, action);
  larsel::app::add_export_onnx_command(app, action);
  larsel::app::add_inspect_command(app, action);
  larsel::app::add_compress_command(app, action);
  larsel::app::add_tradeoff_command(app, action);
  larsel::app::add_export_hls_command(app, action);
  larsel::app::add_score_command(app, action);
  larsel::app::add_wibeth_command(app, action);
  larsel::app::add_bench_command(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "larsel: usage error: {}\n", e.what());
    return kExitUsage;
  }
  setup_logging(log_level);
  try {
    // The whole process (and the ones it starts) runs the chosen set; a set this CPU cannot run is one line here.
    if (!kernels.empty()) ::setenv(larsel::core::kKernelSetVariable, kernels.c_str(), 1);
    spdlog::debug("kernel set {} (this CPU runs up to {})", larsel::core::name(larsel::core::selected_kernel_set()),
                  larsel::core::name(larsel::core::best_kernel_set()));
    return finish(action ? action() : kExitUsage);
  } catch (const larsel::core::ConfigError& e) {  // option values checked after parsing
    fmt::print(stderr, "larsel: usage error: {}\n", e.what());
    return kExitUsage;
  } catch (const CLI::ParseError& e) {  // option combinations checked after parsing
    fmt::print(stderr, "larsel: usage error: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "larsel: error: {}\n", e.what());
    return finish(kExitRuntime);
  }
}
