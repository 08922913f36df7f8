#pragma once
// The demo's configuration: an embedded default YAML, overridable by a file.
#include <string>
#include <string_view>

#include "larsel/daq/emulator.hpp"
#include "larsel/daq/receive_session.hpp"

namespace larsel::app {

struct DemoConfig {
  daq::EmulatorConfig emulator;
  std::string source = "physics";  // waveform source of the emulator
  daq::ReceiveConfig receiver;
};

/// The embedded default, printed by `larsel demo --print-config`.
std::string_view default_demo_config_yaml();

/// Parse YAML text; unknown keys and bad values raise std::runtime_error
/// naming `source` and the key.
DemoConfig parse_demo_config(const std::string& yaml_text, const std::string& source);

}  // namespace larsel::app
