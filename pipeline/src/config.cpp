#include "larsel/pipeline/config.hpp"

#include <limits>
#include <map>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "larsel/core/errors.hpp"
#include "larsel/core/yaml_section.hpp"

namespace larsel::pipeline {
namespace {


constexpr std::string_view kDefaultYaml = R"(# larsel run: the streaming pipeline. A YAML file given with --config overrides any key.
run:
  number: 1                 # run number: in every message header, file attribute and file name
  seconds: 10               # how long to take data (0: until Ctrl-C or SIGTERM)
  frames: 0                 # or stop after this many frame periods per face (0: no limit)
  fail_on_loss: false       # true: a run that lost any frame ends with an error (exit code 1)
input:
  kind: emulator            # emulator: in-process, whole 480x64 frames from a simulated pool (no packets)
                            # udp: WIBEth datagrams -> validation -> frame builder (docs/readout.md)
  faces: 1                  # APA faces (one 480x64 image per face per 32.768 us)
  speed: 1.0                # pacing, as a fraction of the real 30,517.6 frames/s per face
  max_rate: false           # emulator: no pacing, as fast as free frame slots allow (benchmarks)
  seed: 1                   # simulation seed
  pool_frames: 1024         # emulator: distinct background frames per face, simulated at start, looped
  signal_pool_frames: 256   # emulator: distinct signal frames per face (nu_e CC, supernova-like spectrum)
  signal_rate_hz: 100       # nu_e CC frames per second of data time per face (emulator, and udp with emulate)
  sim_config: ""            # simulation YAML (larsel simulate --print-config); "" = built-in
  udp:
    listen: 127.0.0.1:0     # receive address; port 0 = any free port (only useful with emulate: true)
    emulate: true           # also run the WIBEth UDP emulator in this process, sending to `listen`
    socket_buffer_bytes: 67108864
    incomplete_timeout_us: 10000  # emit an image missing streams this long after its first datagram
    window_frames: 64       # image periods held open per face
model:
  file: models/default-model.h5  # quantized model (larsel compress); a relative path is also tried
                            # against the source tree, so the default works from any directory
  backend: twin             # twin (CPU twin of the FPGA kernel) | csim | float | xrt
  hls_project: ""           # csim: project written by larsel export-hls
  xclbin: ""                # xrt: the kernel binary
  device: 0                 # xrt: card index
  workers: 1                # inference threads; decisions leave in frame order whatever the count
selection:
  threshold: model          # logit threshold, or `model`: the model's working point below
  working_point: 1.0e-4     # background acceptance of that working point (1e-3, 1e-4 or 1e-5)
  prescale: 0               # also keep 1 in N rejected frames, flagged prescaled (0: none)
queues:
  input_capacity: 16384     # frames between the source and preprocess: the latency buffer that rides out
                            # stalls downstream (16384 = 0.54 s at the real rate; shared VMs stall for 0.1-0.6 s)
  stage_capacity: 64        # frames per queue between inner stages (they wait for room: back-pressure)
  recorder_capacity: 256    # selected frames waiting for the HDF5 writer
zmq:
  publish: tcp://127.0.0.1:5556  # XPUB bind: frame.selected, frame.decision, metrics, run.info ("" = off)
  push: ""                  # PUSH bind: frame.selected for load-balanced consumers ("" = off)
  publish_hwm: 1000         # messages queued per subscriber; beyond, PUB drops for that subscriber
  push_hwm: 1000            # messages queued per PUSH peer; beyond, the frame is dropped and counted
  decision_batch: 1024      # decision records per frame.decision message
  decision_flush_s: 0.1     # ... or sent this often when fewer
  wait_for_subscribers: 0   # before taking data, wait for this many subscriptions (tests, demos)
  wait_timeout_s: 10        # ... at most this long
  linger_ms: 2000           # at the end, time allowed to deliver queued messages
hdf5:
  enabled: true             # record selected frames in-process (also: larsel record from ZeroMQ)
  directory: larsel-data    # files larsel_run<run>_<index>_<start>.h5, written as .writing, renamed when closed
  max_file_mb: 1024         # rotate when a file's compressed frames pass this (0: never)
  max_file_seconds: 0       # rotate when a file is this old (0: never)
  compression: 1            # deflate level 0-9 (with shuffle)
  on_write_error: stop_recording  # disk full / I/O error: stop_recording (keep deciding, count recorder_write_failed) or fail_run
monitoring:
  interval_s: 1             # metrics message (and log line) period
  log: true                 # log a one-line status every interval
)";

template <typename T>
void read_value(const core::YamlSection& s, const YAML::Node& node, const char* key, const std::string& where, T& value) {
  if (!s.has(key)) return;
  try {
    value = node[key].as<T>();
  } catch (const YAML::Exception&) {
    throw core::ConfigError(fmt::format("{}.{}: '{}' is not a valid value", where, key, node[key].Scalar()));
  }
}

void read_input(const YAML::Node& node, const std::string& where, InputConfig& in) {
  const core::YamlSection s(node, where, {"kind", "faces", "speed", "max_rate", "seed", "pool_frames", "signal_pool_frames", "signal_rate_hz",
                                    "sim_config", "udp"});
  s.read_choice("kind", in.kind, std::map<std::string, InputKind>{{"emulator", InputKind::emulator}, {"udp", InputKind::udp}});
  s.read("faces", in.faces, 1, 8);
  s.read("speed", in.speed, 1e-4, 100);
  s.read("max_rate", in.max_rate);
  s.read("seed", in.seed, 0, 9'000'000'000'000'000);
  s.read("pool_frames", in.pool_frames, 1, 1u << 16);
  s.read("signal_pool_frames", in.signal_pool_frames, 1, 1u << 16);
  s.read("signal_rate_hz", in.signal_rate_hz, 0, 30000);
  read_value(s, node, "sim_config", where, in.sim_config);
  const core::YamlSection u(s.child("udp"), where + ".udp", {"listen", "emulate", "socket_buffer_bytes", "incomplete_timeout_us", "window_frames"});
  read_value(u, s.child("udp"), "listen", where + ".udp", in.udp_listen);
  u.read("emulate", in.udp_emulate);
  u.read("socket_buffer_bytes", in.udp_socket_buffer_bytes, 65536, 1 << 30);
  auto timeout_us = static_cast<std::uint64_t>(in.builder.incomplete_timeout.count());
  u.read("incomplete_timeout_us", timeout_us, 100, 10'000'000);
  in.builder.incomplete_timeout = std::chrono::microseconds(static_cast<std::int64_t>(timeout_us));
  u.read("window_frames", in.builder.window_frames, 2, daq::kMaxWindowFrames);
}

void read_model_and_selection(const core::YamlSection& top, const std::string& source, PipelineConfig& c) {
  const std::string mw = source + ": model";
  const core::YamlSection m(top.child("model"), mw, {"file", "backend", "hls_project", "xclbin", "device", "workers"});
  read_value(m, top.child("model"), "file", mw, c.model.file);
  std::string backend = c.model.backend;
  m.read_choice("backend", backend, std::map<std::string, std::string>{{"twin", "twin"}, {"csim", "csim"}, {"float", "float"}, {"xrt", "xrt"}});
  c.model.backend = backend;
  read_value(m, top.child("model"), "hls_project", mw, c.model.hls_project);
  read_value(m, top.child("model"), "xclbin", mw, c.model.xclbin);
  m.read("device", c.model.device, 0, 63);
  m.read("workers", c.model.workers, 1, 16);
  const std::string sw = source + ": selection";
  const core::YamlSection s(top.child("selection"), sw, {"threshold", "working_point", "prescale"});
  if (s.has("threshold")) {
    const std::string text = s.child("threshold").Scalar();
    c.selection.threshold_from_model = text == "model";
    if (!c.selection.threshold_from_model) s.read("threshold", c.selection.threshold, -1e12, 1e12);
  }
  s.read("working_point", c.selection.working_point, 1e-9, 1);
  unsigned prescale = c.selection.prescale;
  s.read("prescale", prescale, 0, 1u << 30);
  c.selection.prescale = prescale;
}

void read_outputs(const core::YamlSection& top, const std::string& source, PipelineConfig& c) {
  const std::string zw = source + ": zmq";
  const core::YamlSection z(top.child("zmq"), zw, {"publish", "push", "publish_hwm", "push_hwm", "decision_batch", "decision_flush_s",
                                             "wait_for_subscribers", "wait_timeout_s", "linger_ms"});
  read_value(z, top.child("zmq"), "publish", zw, c.zmq.publish);
  read_value(z, top.child("zmq"), "push", zw, c.zmq.push);
  z.read("publish_hwm", c.zmq.publish_hwm, 1, 10'000'000);
  z.read("push_hwm", c.zmq.push_hwm, 1, 10'000'000);
  z.read("decision_batch", c.zmq.decision_batch, 1, wire::kMaxDecisionsPerMessage);
  z.read("decision_flush_s", c.zmq.decision_flush_s, 0.001, 60);
  z.read("wait_for_subscribers", c.zmq.wait_for_subscribers, 0, 1000);
  z.read("wait_timeout_s", c.zmq.wait_timeout_s, 0, 3600);
  z.read("linger_ms", c.zmq.linger_ms, 0, 600'000);
  const std::string hw = source + ": hdf5";
  const core::YamlSection h(top.child("hdf5"), hw, {"enabled", "directory", "max_file_mb", "max_file_seconds", "compression", "on_write_error"});
  h.read("enabled", c.hdf5.enabled);
  std::string directory = c.hdf5.recording.directory.string();
  read_value(h, top.child("hdf5"), "directory", hw, directory);
  c.hdf5.recording.directory = directory;
  h.read("max_file_mb", c.hdf5.recording.max_file_mb, 0, 1e7);
  h.read("max_file_seconds", c.hdf5.recording.max_file_seconds, 0, 1e7);
  h.read("compression", c.hdf5.recording.compression_level, 0, 9);
  h.read_choice("on_write_error", c.hdf5.on_write_error,
                std::map<std::string, OnWriteError>{{"stop_recording", OnWriteError::stop_recording}, {"fail_run", OnWriteError::fail_run}});
  const core::YamlSection mon(top.child("monitoring"), source + ": monitoring", {"interval_s", "log"});
  mon.read("interval_s", c.metrics_interval_s, 0.05, 3600);
  mon.read("log", c.log_metrics);
}

void apply(const YAML::Node& root, const std::string& source, PipelineConfig& c) {
  if (!root || root.IsNull()) return;
  const core::YamlSection top(root, source, {"run", "input", "model", "selection", "queues", "zmq", "hdf5", "monitoring"});
  const core::YamlSection run(top.child("run"), source + ": run", {"number", "seconds", "frames", "fail_on_loss"});
  run.read("number", c.run_number, 0, 999'999);
  run.read("seconds", c.seconds, 0, 1e7);
  run.read("frames", c.frames, 0, 9'000'000'000'000'000);
  run.read("fail_on_loss", c.fail_on_loss);
  read_input(top.child("input"), source + ": input", c.input);
  read_model_and_selection(top, source, c);
  const core::YamlSection q(top.child("queues"), source + ": queues", {"input_capacity", "stage_capacity", "recorder_capacity"});
  q.read("input_capacity", c.input_queue_capacity, 4, 1u << 20);
  q.read("stage_capacity", c.stage_queue_capacity, 2, 1u << 16);
  q.read("recorder_capacity", c.recorder_queue_capacity, 1, 1u << 16);
  read_outputs(top, source, c);
}

}  // namespace

std::string_view default_config_yaml() { return kDefaultYaml; }

PipelineConfig parse_pipeline_config(std::string_view yaml_text, const std::string& source) try {
  PipelineConfig c;
  apply(core::load_yaml(std::string(kDefaultYaml), "embedded default config"), "embedded default config", c);
  apply(core::load_yaml(std::string(yaml_text), source), source, c);
  if (c.input.kind == InputKind::udp && c.input.faces != 1) {
    throw core::ConfigError(fmt::format("{}: input.faces: the udp input builds one face (got {})", source, c.input.faces));
  }
  return c;
} catch (const YAML::Exception& e) {
  throw core::config_error_from(e, source);
}

std::string to_yaml(const PipelineConfig& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "run" << YAML::Value << YAML::BeginMap << YAML::Key << "number" << YAML::Value << c.run_number << YAML::Key
      << "seconds" << YAML::Value << c.seconds << YAML::Key << "frames" << YAML::Value << c.frames << YAML::Key << "fail_on_loss"
      << YAML::Value << c.fail_on_loss << YAML::EndMap;
  const InputConfig& in = c.input;
  out << YAML::Key << "input" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "kind" << YAML::Value << (in.kind == InputKind::emulator ? "emulator" : "udp");
  out << YAML::Key << "faces" << YAML::Value << in.faces << YAML::Key << "speed" << YAML::Value << in.speed << YAML::Key << "max_rate"
      << YAML::Value << in.max_rate << YAML::Key << "seed" << YAML::Value << in.seed << YAML::Key << "pool_frames" << YAML::Value
      << in.pool_frames << YAML::Key << "signal_pool_frames" << YAML::Value << in.signal_pool_frames << YAML::Key << "signal_rate_hz"
      << YAML::Value << in.signal_rate_hz << YAML::Key << "sim_config" << YAML::Value << in.sim_config;
  out << YAML::Key << "udp" << YAML::Value << YAML::BeginMap << YAML::Key << "listen" << YAML::Value << in.udp_listen << YAML::Key
      << "emulate" << YAML::Value << in.udp_emulate << YAML::Key << "socket_buffer_bytes" << YAML::Value << in.udp_socket_buffer_bytes
      << YAML::Key << "incomplete_timeout_us" << YAML::Value << in.builder.incomplete_timeout.count() << YAML::Key << "window_frames"
      << YAML::Value << in.builder.window_frames << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap << YAML::Key << "file" << YAML::Value << c.model.file << YAML::Key
      << "backend" << YAML::Value << c.model.backend << YAML::Key << "hls_project" << YAML::Value << c.model.hls_project << YAML::Key
      << "xclbin" << YAML::Value << c.model.xclbin << YAML::Key << "device" << YAML::Value << c.model.device << YAML::Key << "workers"
      << YAML::Value << c.model.workers << YAML::EndMap;
  out << YAML::Key << "selection" << YAML::Value << YAML::BeginMap << YAML::Key << "threshold";
  if (c.selection.threshold_from_model) out << YAML::Value << "model";
  else out << YAML::Value << c.selection.threshold;
  out << YAML::Key << "working_point" << YAML::Value << c.selection.working_point << YAML::Key << "prescale" << YAML::Value
      << c.selection.prescale << YAML::EndMap;
  out << YAML::Key << "queues" << YAML::Value << YAML::BeginMap << YAML::Key << "input_capacity" << YAML::Value << c.input_queue_capacity
      << YAML::Key << "stage_capacity" << YAML::Value << c.stage_queue_capacity << YAML::Key
      << "recorder_capacity" << YAML::Value << c.recorder_queue_capacity << YAML::EndMap;
  const ZmqConfig& z = c.zmq;
  out << YAML::Key << "zmq" << YAML::Value << YAML::BeginMap << YAML::Key << "publish" << YAML::Value << z.publish << YAML::Key << "push"
      << YAML::Value << z.push << YAML::Key << "publish_hwm" << YAML::Value << z.publish_hwm << YAML::Key << "push_hwm" << YAML::Value
      << z.push_hwm << YAML::Key << "decision_batch" << YAML::Value << z.decision_batch << YAML::Key << "decision_flush_s" << YAML::Value
      << z.decision_flush_s << YAML::Key << "wait_for_subscribers" << YAML::Value << z.wait_for_subscribers << YAML::Key
      << "wait_timeout_s" << YAML::Value << z.wait_timeout_s << YAML::Key << "linger_ms" << YAML::Value << z.linger_ms << YAML::EndMap;
  const RecordingConfig& r = c.hdf5.recording;
  out << YAML::Key << "hdf5" << YAML::Value << YAML::BeginMap << YAML::Key << "enabled" << YAML::Value << c.hdf5.enabled << YAML::Key
      << "directory" << YAML::Value << r.directory.string() << YAML::Key << "max_file_mb" << YAML::Value << r.max_file_mb << YAML::Key
      << "max_file_seconds" << YAML::Value << r.max_file_seconds << YAML::Key << "compression" << YAML::Value << r.compression_level
      << YAML::Key << "on_write_error" << YAML::Value
      << (c.hdf5.on_write_error == OnWriteError::fail_run ? "fail_run" : "stop_recording") << YAML::EndMap;
  out << YAML::Key << "monitoring" << YAML::Value << YAML::BeginMap << YAML::Key << "interval_s" << YAML::Value << c.metrics_interval_s
      << YAML::Key << "log" << YAML::Value << c.log_metrics << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace larsel::pipeline
