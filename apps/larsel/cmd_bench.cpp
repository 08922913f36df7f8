// larsel bench <name>: benchmarks with JSON output.
#include <fstream>
#include <functional>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/bench/bench_stats.hpp"
#include "larsel/bench/chain_bench.hpp"
#include "larsel/bench/cnn_bench.hpp"
#include "larsel/bench/infer_bench.hpp"
#include "larsel/bench/ingest_bench.hpp"
#include "larsel/bench/pipeline_bench.hpp"
#include "larsel/bench/preprocess_bench.hpp"
#include "larsel/bench/simulate_bench.hpp"

namespace larsel::app {
namespace {

/// The benchmark's figures after the machine they were measured on (bench::machine_json).
void emit_json(const nlohmann::ordered_json& figures, const std::string& out) {
  nlohmann::ordered_json j;
  j["machine"] = bench::machine_json();
  j["software"] = fmt::format("larsel {}", LARSEL_VERSION);
  for (const auto& [key, value] : figures.items()) j[key] = value;
  fmt::print("{}\n", j.dump(2));
  if (out.empty()) return;
  std::ofstream file(out);
  if (!(file << j.dump(2) << '\n')) throw std::runtime_error(fmt::format("{}: cannot write benchmark output", out));
  spdlog::info("wrote {}", out);
}

/// Adds benchmark `name` with its `--out` option; its figures (`run`) go through emit_json and the exit
/// code is `verdict`'s (0 without one). Returns the subcommand and its options, for the rest.
template <typename Options>
std::pair<CLI::App*, std::shared_ptr<Options>> add_benchmark(
    CLI::App& bench, Action& action, const std::string& name, const std::string& description,
    std::function<nlohmann::ordered_json(const Options&)> run, std::function<int(const nlohmann::ordered_json&)> verdict = {}) {
  auto* command = bench.add_subcommand(name, description);
  auto options = std::make_shared<Options>();
  auto out = std::make_shared<std::string>();
  command->add_option("--out", *out, "Also write the JSON to this file");
  command->callback([&action, options, out, run, verdict] {
    action = [options, out, run, verdict] {
      const nlohmann::ordered_json figures = run(*options);
      emit_json(figures, *out);
      return verdict ? verdict(figures) : 0;
    };
  });
  return {command, options};
}

int twin_verdict(const nlohmann::ordered_json& figures) {
  if (figures["every_twin_bit_exact"].get<bool>()) return 0;
  spdlog::error("a twin kernel differs from the integer reference (kernel_sets.*.bit_exact_with_integer_reference)");
  return 1;
}

/// The readout side: decode and receive, simulation, preprocess.
void add_readout_benchmarks(CLI::App* bench, Action& action) {
  const auto [ingest, o] = add_benchmark<bench::IngestBenchOptions>(
      *bench, action, "ingest", "WIBEth decode GB/s vs memcpy; builder ns/datagram; lossless loopback rate vs a bare recvmmsg loop",
      bench::run_ingest_bench);
  ingest->add_option("--trial-seconds", o->trial_seconds, "Seconds per loopback trial")->check(CLI::Range(0.05, 60.0))->capture_default_str();
  ingest->add_option("--rate-steps", o->rate_steps, "Rates tried per receiver")->check(CLI::Range(1, 50))->capture_default_str();
  ingest->add_option("--refine-steps", o->refine_steps, "Bisection steps per receiver")->check(CLI::Range(0, 20))->capture_default_str();
  ingest->add_option("--decode-repeats", o->decode_repeats, "Decode passes")->check(CLI::Range(1, 10000))->capture_default_str();
  ingest->add_option("--socket-buffer", o->socket_buffer_bytes, "Receive buffer for both receivers, bytes")
      ->check(CLI::Range(65536, 1 << 30))
      ->capture_default_str();
  ingest->add_flag("--skip-loopback", o->skip_loopback, "Only the in-memory measurements");

  const auto [simulate, so] = add_benchmark<bench::SimulateBenchOptions>(
      *bench, action, "simulate", "Physics simulation frames/s per core (background, signal) and HDF5 writing", bench::run_simulate_bench);
  simulate->add_option("--background-frames", so->background_frames, "Background frames per repeat")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  simulate->add_option("--signal-frames", so->signal_frames, "Signal frames per repeat")->check(CLI::Range(1, 10'000'000))->capture_default_str();
  simulate->add_option("--repeats", so->repeats, "Repeats; medians are quoted")->check(CLI::Range(1, 1000))->capture_default_str();
  simulate->add_option("--fixture", so->fixture_dir, "ProtoDUNE-HD fixture folder: add its collection noise figures for comparison")
      ->check(CLI::ExistingDirectory);

  const auto [pre, po] = add_benchmark<bench::PreprocessBenchOptions>(
      *bench, action, "preprocess", "Denoise + downsize ns/frame on one core (optimised, scalar) next to a plain memory read of the frame",
      bench::run_preprocess_bench);
  pre->add_option("--config", po->config_path, "Preprocess YAML (default: built-in)")->check(CLI::ExistingFile);
  pre->add_option("--iterations", po->iterations, "Timed frames for the optimised kernel (scalar: a tenth)")
      ->check(CLI::Range(100u, 10'000'000u))->capture_default_str();
  pre->add_option("--variant-iterations", po->variant_iterations, "Timed frames per configuration variant")
      ->check(CLI::Range(100u, 10'000'000u))->capture_default_str();
  pre->add_option("--ring-frames", po->ring_frames, "Frames in the ring read round-robin (256 = 15.7 MB, beyond L2)")
      ->check(CLI::Range(2u, 100'000u))->capture_default_str();
  pre->add_flag("!--no-variants", po->variants, "Skip the per-kernel and per-step cost comparisons");

}

/// The selection side: CNN, twin and backends, the whole chain, the pipeline.
void add_selection_benchmarks(CLI::App* bench, Action& action) {
  const auto [cnn, co] = add_benchmark<bench::CnnBenchOptions>(
      *bench, action, "cnn", "Float CNN inference us/frame on one core, batch 1 and 256, against the 32.8 us frame period", bench::run_cnn_bench);
  cnn->add_option("--model", co->model_path, "Model file (default: the default architecture, random weights)")->check(CLI::ExistingFile);
  cnn->add_option("--repeats", co->repeats, "Repeats; medians are quoted")->check(CLI::Range(1u, 1000u))->capture_default_str();
  cnn->add_option("--frames", co->frames, "Frames per repeat")->check(CLI::Range(256u, 1'000'000u))->capture_default_str();

  const auto [infer, io] = add_benchmark<bench::InferBenchOptions>(
      *bench, action, "infer", "Per-frame latency on one core: FPGA twin, preprocess + twin, float network, HLS C simulation, OpenCV dnn (ONNX)",
      bench::run_infer_bench, twin_verdict);
  infer->add_option("--model", io->model_path, "Quantized model file (larsel compress)")->check(CLI::ExistingFile)->capture_default_str();
  infer->add_option("--frames", io->frames, "Frames timed one by one per backend and round")->check(CLI::Range(100u, 1'000'000u))->capture_default_str();
  infer->add_option("--rounds", io->rounds, "Rounds, each timing every backend in turn (round medians show the shared machine's drift)")
      ->check(CLI::Range(1u, 100u))->capture_default_str();
  infer->add_option("--csim-frames", io->csim_frames, "Frames timed for the C simulation of the HLS kernel")
      ->check(CLI::Range(1u, 1'000'000u))->capture_default_str();
  infer->add_flag("!--no-csim", io->csim, "Skip the C simulation (it exports the HLS project and compiles it with g++)");
  infer->add_option("--distinct-frames", io->distinct_frames, "Simulated frames, cycled")->check(CLI::Range(1u, 100'000u))->capture_default_str();
  infer->add_option("--kernel-sets", io->kernel_sets, "Kernel sets whose twin and preprocess to time (default: every one this CPU runs)")
      ->delimiter(',')
      ->check(CLI::IsMember({"baseline", "avx2", "avx512", "avx512vnni"}));

  const auto [chain, cho] = add_benchmark<bench::ChainBenchOptions>(
      *bench, action, "chain",
      "One face's whole chain on ONE thread, datagrams in memory -> validation, frame building -> preprocess -> twin -> selection: us per face-frame, per kernel set",
      bench::run_chain_bench);
  chain->add_option("--model", cho->model_path, "Quantized model file (larsel compress)")->check(CLI::ExistingFile)->capture_default_str();
  chain->add_option("--periods", cho->periods, "Simulated frame periods held in memory, cycled")->check(CLI::Range(1u, 4096u))->capture_default_str();
  chain->add_option("--frames", cho->frames, "Face-frames timed per kernel set and round")->check(CLI::Range(100u, 10'000'000u))->capture_default_str();
  chain->add_option("--rounds", cho->rounds, "Rounds, each timing every kernel set in turn")->check(CLI::Range(1u, 100u))->capture_default_str();
  chain->add_option("--kernel-sets", cho->kernel_sets, "Kernel sets to time (default: every one this CPU runs)")
      ->delimiter(',')
      ->check(CLI::IsMember({"baseline", "avx2", "avx512", "avx512vnni"}));

  const auto [pl, plo] = add_benchmark<bench::PipelineBenchOptions>(
      *bench, action, "pipeline", "Highest zero-loss rate of the whole pipeline (in-process and UDP input), as a multiple of one face's real-time rate",
      bench::run_pipeline_bench);
  pl->add_option("--seconds", plo->seconds, "Length of each paced trial")->check(CLI::Range(1.0, 3600.0))->capture_default_str();
  pl->add_option("--probe-seconds", plo->probe_seconds, "Length of the unpaced in-process capacity probe")->check(CLI::Range(1.0, 600.0))->capture_default_str();
  pl->add_option("--max-trials", plo->max_trials, "Paced trials per input, each 10 % slower than the last")->check(CLI::Range(1, 20))->capture_default_str();
  pl->add_option("--workers", plo->workers, "Inference threads")->check(CLI::Range(1, 16))->capture_default_str();
  pl->add_flag("!--no-udp", plo->udp, "Skip the UDP input");
  pl->add_flag("!--no-in-process", plo->in_process, "Skip the in-process input");
}

}  // namespace

void add_bench_command(CLI::App& app, Action& action) {
  auto* bench = app.add_subcommand("bench", "Benchmarks (JSON on stdout)");
  bench->require_subcommand(1);
  add_readout_benchmarks(bench, action);
  add_selection_benchmarks(bench, action);
}

}  // namespace larsel::app
