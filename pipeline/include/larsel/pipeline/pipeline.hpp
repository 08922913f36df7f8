#pragma once
// `larsel run`: a stream of 480 x 64 frames -> preprocess (denoise + downsize)
// -> inference workers (twin by default) -> selection -> ZeroMQ fan-out and
// HDF5 recording, with every queue's depth and every frame's latency measured.
//
// Threads (each named larsel-*): source (emulator or UDP receiver), preprocess,
// N inference workers, selector (decisions, ZeroMQ, metrics), recorder. They
// pass slot indices through bounded SPSC queues; frames live in slots allocated
// once. Overload policy: the source never waits: with no free slot or a full
// preprocess queue the frame is dropped and counted; inner stages wait for room
// (back-pressure), so a frame once accepted is always decided. See docs/pipeline.md.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "larsel/pipeline/capacity.hpp"
#include "larsel/pipeline/config.hpp"

namespace larsel::pipeline {

class Pipeline {
 public:
  /// Loads the model, makes the backends, binds the sockets and preloads the source.
  /// Throws (core::ConfigError, std::runtime_error, std::invalid_argument) with a message naming the problem.
  explicit Pipeline(const PipelineConfig& config, const std::string& software_version = "");
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// Takes data until the configured duration or frame count, or `stop`; then lets every
  /// accepted frame through, closes the files and returns the run summary (JSON).
  nlohmann::ordered_json run(const std::atomic<bool>& stop);

  /// The bound XPUB endpoint with its real port ("" when off).
  [[nodiscard]] std::string publish_endpoint() const;
  /// The selection threshold in use (logit).
  [[nodiscard]] double threshold() const;
  /// Whether this machine keeps up with the input, as measured when the pipeline was made.
  [[nodiscard]] const CapacityEstimate& capacity() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The frames a run's summary says were lost: dropped at the source and, with the udp input, periods the
/// receiver did not turn into complete frames.
std::uint64_t frames_lost(const nlohmann::ordered_json& summary);

}  // namespace larsel::pipeline
