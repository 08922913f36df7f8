#pragma once
// Pieces shared by the emulate, receive and demo commands.
#include <string>

#include <nlohmann/json.hpp>

#include "larsel/daq/channel_map.hpp"
#include "larsel/daq/emulator.hpp"
#include "larsel/daq/receive_session.hpp"

namespace larsel::app {

/// The PD2HD map at `path`, or the built-in emulated map covering `faces` faces.
daq::ChannelMap load_channel_map(const std::string& path, unsigned faces);

nlohmann::ordered_json emulator_report(const daq::EmulatorStats& stats, std::size_t streams);
nlohmann::ordered_json receive_report(const daq::ReceiveSession& session);
void print_emulator_report(const nlohmann::ordered_json& report);
void print_receive_report(const nlohmann::ordered_json& report);

}  // namespace larsel::app
