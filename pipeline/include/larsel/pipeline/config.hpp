#pragma once
// The configuration of `larsel run`: an embedded default (default_config_yaml(),
// every key commented) that a user's YAML file overrides key by key.
#include <cstdint>
#include <string>
#include <string_view>

#include "larsel/daq/frame_builder.hpp"
#include "larsel/pipeline/selected_frame_writer.hpp"

namespace larsel::pipeline {

enum class InputKind { emulator, udp };

struct InputConfig {
  InputKind kind = InputKind::emulator;
  unsigned faces = 1;
  double speed = 1.0;             // fraction of the real 30,517.6 frames/s per face
  bool max_rate = false;          // emulator: no pacing
  std::uint64_t seed = 1;
  unsigned pool_frames = 1024;    // emulator: distinct background frames per face
  unsigned signal_pool_frames = 256;
  double signal_rate_hz = 100;    // supernova-like nu_e CC frames per second of data time, per face
  std::string sim_config;         // simulation YAML ("" = built-in)
  std::string udp_listen = "127.0.0.1:0";
  bool udp_emulate = true;        // run the WIBEth UDP emulator in this process
  std::size_t udp_socket_buffer_bytes = 64u << 20;
  daq::FrameBuilderConfig builder;
};

struct ModelConfig {
  std::string file = "models/default-model.h5";
  std::string backend = "twin";
  std::string hls_project, xclbin;
  unsigned device = 0;
  unsigned workers = 1;
};

struct SelectionConfig {
  bool threshold_from_model = true;
  double threshold = 0;           // logit, when not from the model
  double working_point = 1e-4;    // background acceptance of the model's working point
  std::uint32_t prescale = 0;     // keep 1 in N rejected frames (0: none)
};

struct ZmqConfig {
  std::string publish = "tcp://127.0.0.1:5556";  // XPUB bind ("" = none)
  std::string push;                              // PUSH bind ("" = none)
  int publish_hwm = 1000;
  int push_hwm = 1000;
  unsigned decision_batch = 1024;
  double decision_flush_s = 0.1;
  unsigned wait_for_subscribers = 0;
  double wait_timeout_s = 10;
  int linger_ms = 2000;
};

/// What a write error (disk full, I/O error) of the in-process recording does.
enum class OnWriteError { stop_recording, fail_run };

struct Hdf5OutputConfig {
  bool enabled = true;
  RecordingConfig recording;
  OnWriteError on_write_error = OnWriteError::stop_recording;
};

struct PipelineConfig {
  std::uint64_t run_number = 1;
  double seconds = 10;            // 0 = until stopped
  std::uint64_t frames = 0;       // frame periods per face (0 = no limit)
  bool fail_on_loss = false;      // a run that lost frames ends with an error (larsel run exits 1)
  InputConfig input;
  ModelConfig model;
  SelectionConfig selection;
  unsigned input_queue_capacity = 16384;  // the buffer that rides out stalls downstream
  unsigned stage_queue_capacity = 64;
  unsigned recorder_queue_capacity = 256;
  ZmqConfig zmq;
  Hdf5OutputConfig hdf5;
  double metrics_interval_s = 1;
  bool log_metrics = true;
};

[[nodiscard]] std::string_view default_config_yaml();
/// The default overridden by `yaml_text`; throws core::ConfigError naming `source` and the key.
PipelineConfig parse_pipeline_config(std::string_view yaml_text, const std::string& source);
/// The effective configuration as YAML (recorded with the data).
std::string to_yaml(const PipelineConfig& config);

}  // namespace larsel::pipeline
