#pragma once
// Whether this machine can keep up with a run's input, measured before the
// run: what this CPU's kernels cost per frame (preprocess, inference and, for
// the UDP input, building frames from datagrams) on a few simulated frames,
// against the rate the configuration asks for. `larsel run` says it in one
// line: a warning, with the figures and what to change, when it cannot.
#include <string>

#include <nlohmann/json.hpp>

#include "larsel/fpga/backend.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/config.hpp"

namespace larsel::pipeline {

struct CapacityEstimate {
  double frames_per_second = 0;  // asked for: faces x speed x 30,517.6 (0: unpaced, nothing to check)
  double preprocess_us = 0, inference_us = 0, build_us = 0;  // per frame on this CPU (build: udp input only)
  std::string preprocess_kernel, inference_kernel;
  std::string busiest_thread;     // the thread the most loaded
  double busiest_thread_load = 0; // its share of one core
  double cores_needed = 0;        // every thread, with the pipeline's own cost per frame
  unsigned cores = 0;             // this machine's
  bool keeps_up = true;
  std::string message;            // one line saying so, with the figures (and what to change when it cannot)

  [[nodiscard]] nlohmann::ordered_json to_json() const;
};

/// What the pipeline's own work (queues, waking threads, decisions, ZeroMQ, metrics) adds per frame, in us of
/// CPU, beyond its stages: bench pipeline measures 4-6 us at load on a 2-core VM (docs/pipeline.md).
inline constexpr double kPipelineOwnUsPerFrame = 6.0;
/// The share of a core (and of the machine) a configuration may plan to use: the rest absorbs stalls.
inline constexpr double kMaxPlannedLoad = 0.8;

/// Times `backend` and a Preprocessor of the model's configuration (this process's kernel set) on simulated
/// frames, and weighs them against `config`'s input rate and threads.
CapacityEstimate estimate_capacity(const PipelineConfig& config, const models::ModelFile& model, fpga::InferenceBackend& backend);

}  // namespace larsel::pipeline
