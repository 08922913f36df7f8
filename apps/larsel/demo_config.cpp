#include "demo_config.hpp"

#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "larsel/core/yaml_section.hpp"

namespace larsel::app {
namespace {

constexpr std::string_view kDefaultYaml = R"(# LArSel demo: emulate APA face readout and receive it over UDP loopback.
emulator:
  faces: 1              # APA faces, 20 WIBEth streams each
  speed: 0.1            # fraction of the real 30,517.6 frames/s per stream
  max_rate: false       # true = no pacing at all
  seconds: 3            # how long to send
  seed: 1               # simulation and fault-injection seed
  source: physics       # physics (LArTPC simulation) or noise (pedestal + Gaussian)
  signal_rate_hz: 100   # nu_e CC interactions per second of data time, per face
  pool_periods: 32      # preloaded frame periods, looped with fresh timestamps
  faults:               # per-datagram probabilities
    drop: 0
    reorder: 0
    duplicate: 0
    corrupt: 0
receiver:
  listen: 127.0.0.1:0            # port 0 = any free port
  socket_buffer_bytes: 67108864  # kernel receive buffer
  batch: 64                      # datagrams per recvmmsg call
  pool_frames: 256               # preallocated images per face
  incomplete_timeout_us: 10000   # emit an image incomplete this long after its first datagram
  window_frames: 64              # image periods held open per face
)";

void check_keys(const YAML::Node& node, const std::string& where, const std::set<std::string>& allowed) {
  if (!node) return;
  if (!node.IsMap()) throw std::runtime_error(fmt::format("{}: expected a mapping", where));
  for (const auto& item : node) {
    const auto key = core::scalar_text(item.first, where);
    if (!allowed.contains(key)) throw std::runtime_error(fmt::format("{}.{}: unknown key", where, key));
  }
}

template <typename T>
void read(const YAML::Node& node, const char* key, const std::string& where, T& value) {
  if (!node || !node[key]) return;
  try {
    value = node[key].as<T>();
  } catch (const YAML::Exception&) {
    throw std::runtime_error(fmt::format("{}.{}: cannot read '{}' as a {}", where, key, node[key].Scalar(),
                                         std::is_same_v<T, bool> ? "boolean" : std::is_same_v<T, std::string> ? "string" : "number"));
  }
}

void read_emulator(const YAML::Node& node, const std::string& where, daq::EmulatorConfig& e) {
  check_keys(node, where, {"faces", "speed", "max_rate", "seconds", "seed", "pool_periods", "faults", "frames", "source",
                           "signal_rate_hz"});
  read(node, "signal_rate_hz", where, e.signal_rate_hz);
  read(node, "faces", where, e.faces);
  read(node, "speed", where, e.speed);
  read(node, "max_rate", where, e.max_rate);
  read(node, "seconds", where, e.seconds);
  read(node, "frames", where, e.periods);
  read(node, "seed", where, e.seed);
  read(node, "pool_periods", where, e.pool_periods);
  if (!node) return;
  const std::string fw = where + ".faults";
  check_keys(node["faults"], fw, {"drop", "reorder", "duplicate", "corrupt"});
  read(node["faults"], "drop", fw, e.faults.drop);
  read(node["faults"], "reorder", fw, e.faults.reorder);
  read(node["faults"], "duplicate", fw, e.faults.duplicate);
  read(node["faults"], "corrupt", fw, e.faults.corrupt);
}

void read_receiver(const YAML::Node& node, const std::string& where, daq::ReceiveConfig& r) {
  check_keys(node, where, {"listen", "socket_buffer_bytes", "batch", "pool_frames", "incomplete_timeout_us", "window_frames"});
  read(node, "listen", where, r.listen);
  read(node, "socket_buffer_bytes", where, r.socket_buffer_bytes);
  read(node, "batch", where, r.batch);
  read(node, "pool_frames", where, r.pool_frames);
  read(node, "window_frames", where, r.builder.window_frames);
  std::int64_t timeout_us = r.builder.incomplete_timeout.count();
  read(node, "incomplete_timeout_us", where, timeout_us);
  if (timeout_us <= 0) throw std::runtime_error(fmt::format("{}.incomplete_timeout_us: must be positive", where));
  r.builder.incomplete_timeout = std::chrono::microseconds(timeout_us);
}

}  // namespace

std::string_view default_demo_config_yaml() { return kDefaultYaml; }

DemoConfig parse_demo_config(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = core::load_yaml(yaml_text, source);  // syntax errors and duplicate keys
  } catch (const core::ConfigError& e) {
    throw std::runtime_error(e.what());  // as every other error of the demo's config: exit 1
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  check_keys(root, source, {"emulator", "receiver"});
  DemoConfig config;
  read_emulator(root["emulator"], source + ": emulator", config.emulator);
  if (root["emulator"] && root["emulator"]["source"]) {
    config.source = core::scalar_text(root["emulator"]["source"], source + ": emulator.source");
    if (config.source != "physics" && config.source != "noise") {
      throw std::runtime_error(fmt::format("{}: emulator.source: '{}' is not physics or noise", source, config.source));
    }
  }
  read_receiver(root["receiver"], source + ": receiver", config.receiver);
  return config;
}

}  // namespace larsel::app
