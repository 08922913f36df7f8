#include "larsel/bench/pipeline_bench.hpp"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>

#include <spdlog/spdlog.h>

#include "larsel/bench/ingest_bench.hpp"
#include "larsel/daq/wibeth.hpp"
#include "larsel/pipeline/pipeline.hpp"

namespace larsel::bench {
namespace {

using nlohmann::ordered_json;

/// A scratch directory for the trial recordings, removed afterwards.
struct ScratchDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("larsel-bench-pipeline-" + std::to_string(std::random_device{}()));
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

pipeline::PipelineConfig trial_config(pipeline::InputKind kind, double speed, double seconds, bool max_rate, unsigned workers,
                                      const std::filesystem::path& dir) {
  pipeline::PipelineConfig c = pipeline::parse_pipeline_config("", "embedded default config");
  c.input.kind = kind;
  c.input.speed = speed;
  c.input.max_rate = max_rate;
  c.seconds = seconds;
  c.model.workers = workers;
  c.zmq.publish = "tcp://127.0.0.1:*";  // publishing costs the same with or without subscribers
  c.hdf5.recording.directory = dir;
  c.log_metrics = false;
  return c;
}

ordered_json run_trial(const pipeline::PipelineConfig& config) {
  pipeline::Pipeline p(config);
  const std::atomic<bool> stop{false};
  ordered_json s = p.run(stop);
  const double rate = static_cast<double>(s["frames"]["decided"].get<std::uint64_t>()) / s["seconds"].get<double>();
  ordered_json t{{"speed", config.input.speed},
                 {"max_rate", config.input.max_rate},
                 {"seconds", s["seconds"]},
                 {"frames_decided", s["frames"]["decided"]},
                 {"frames_per_second", std::round(rate)},
                 {"real_time_multiple", rate / daq::wibeth::kFrameRateHz},
                 {"frames_lost", pipeline::frames_lost(s)},
                 {"latency_us", s["latency_us"]},
                 {"queues_max", ordered_json::object()},
                 {"stage_time_us", s["stage_time_us"]},
                 {"cpu", s["cpu"]}};
  for (const auto& [name, q] : s["queues"].items()) t["queues_max"][name] = q["max"];
  spdlog::info("trial at {:.3f} x real time{}: {:.0f} frames/s, {} lost", config.input.speed, config.input.max_rate ? " (unpaced)" : "", rate,
               t["frames_lost"].get<std::uint64_t>());
  return t;
}

/// Paced trials from `start_speed` down by 10 % until one loses nothing.
ordered_json sustained(pipeline::InputKind kind, double start_speed, const PipelineBenchOptions& o, const std::filesystem::path& dir) {
  ordered_json trials = ordered_json::array();
  double speed = start_speed;
  for (unsigned i = 0; i < o.max_trials; ++i, speed *= 0.9) {
    trials.push_back(run_trial(trial_config(kind, speed, o.seconds, false, o.workers, dir)));
    if (trials.back()["frames_lost"].get<std::uint64_t>() == 0) {
      return {{"sustained_real_time_multiple", trials.back()["real_time_multiple"]}, {"sustained_speed", speed}, {"trials", trials}};
    }
  }
  return {{"sustained_real_time_multiple", 0.0}, {"sustained_speed", nullptr}, {"trials", trials}};
}

ordered_json in_process(const PipelineBenchOptions& o, const std::filesystem::path& dir) {
  const ordered_json probe = run_trial(trial_config(pipeline::InputKind::emulator, 1.0, o.probe_seconds, true, o.workers, dir));
  const double capacity = probe["real_time_multiple"].get<double>();
  ordered_json j = sustained(pipeline::InputKind::emulator, 0.95 * capacity, o, dir);
  j["capacity_probe"] = probe;
  j["goal_min_real_time_multiple"] = 1.0;
  return j;
}

ordered_json udp(const PipelineBenchOptions& o, const std::filesystem::path& dir) {
  IngestBenchOptions ingest;
  ingest.decode_repeats = 1;
  const ordered_json bare = run_ingest_bench(ingest);
  const double bare_datagrams = bare["loopback"]["bare_recvmmsg_max_lossless_rate"].get<double>();
  const double bare_speed = bare_datagrams / 20.0 / daq::wibeth::kFrameRateHz;  // 20 streams (datagrams) per face frame
  ordered_json j = sustained(pipeline::InputKind::udp, bare_speed, o, dir);
  j["bare_receive_loop_real_time_multiple"] = bare_speed;
  j["ratio_to_bare_receive_loop"] = bare_speed > 0 ? j["sustained_real_time_multiple"].get<double>() / bare_speed : 0.0;
  return j;
}

}  // namespace

ordered_json run_pipeline_bench(const PipelineBenchOptions& o) {
  ScratchDir dir;
  ordered_json j;
  j["face_real_time_frames_per_second"] = daq::wibeth::kFrameRateHz;
  j["seconds_per_trial"] = o.seconds;
  j["workers"] = o.workers;
  if (o.in_process) j["in_process"] = in_process(o, dir.path);
  if (o.udp) j["udp"] = udp(o, dir.path);
  return j;
}

}  // namespace larsel::bench
