#pragma once
// Pieces shared by the emulate, receive and demo commands.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "larsel/daq/channel_map.hpp"
#include "larsel/daq/emulator.hpp"
#include "larsel/daq/receive_session.hpp"

namespace larsel::app {

/// The whole text file at `path` (configuration files); throws naming it.
/// Logs that the preprocessed-image cache could not be written (train and eval go on without it).
void warn_cache(const std::string& what);

/// The PD2HD map at `path`, or the built-in emulated map covering `faces` faces.
daq::ChannelMap load_channel_map(const std::string& path, unsigned faces);

/// "physics" (default: the LArTPC simulation, configured by the YAML at
/// `sim_config_path` if given) or "noise" (pedestals + Gaussian noise).
std::unique_ptr<daq::WaveformSource> make_waveform_source(const std::string& kind, const std::string& sim_config_path,
                                                          std::uint64_t seed);
/// "EVERY:LENGTH:RATE" (seconds, seconds, Hz) -> burst config; throws core::ConfigError.
daq::BurstConfig parse_burst(const std::string& text);

nlohmann::ordered_json emulator_report(const daq::EmulatorStats& stats, std::size_t streams);
nlohmann::ordered_json receive_report(const daq::ReceiveSession& session);
void print_emulator_report(const nlohmann::ordered_json& report);
void print_receive_report(const nlohmann::ordered_json& report);

}  // namespace larsel::app
