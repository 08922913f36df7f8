#include "common.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "larsel/core/errors.hpp"
#include "larsel/daq/sim/physics_source.hpp"

namespace larsel::app {

daq::ChannelMap load_channel_map(const std::string& path, unsigned faces) {
  if (!path.empty()) return daq::ChannelMap::read_pd2hd(path);
  return daq::ChannelMap::emulated((faces + 1) / 2);
}

std::unique_ptr<daq::WaveformSource> make_waveform_source(const std::string& kind, const std::string& sim_config_path,
                                                          std::uint64_t seed) {
  if (kind == "noise") return std::make_unique<daq::NoiseWaveformSource>(daq::NoiseSourceConfig{.seed = seed});
  if (kind != "physics") throw core::ConfigError(fmt::format("waveform source '{}': expected physics or noise", kind));
  return std::make_unique<daq::sim::PhysicsWaveformSource>(daq::sim::load_sim_config(sim_config_path), seed);
}

daq::BurstConfig parse_burst(const std::string& text) {
  daq::BurstConfig burst;
  char colon1 = 0, colon2 = 0;
  std::istringstream in(text);
  if (!(in >> burst.every_s >> colon1 >> burst.length_s >> colon2 >> burst.rate_hz) || colon1 != ':' || colon2 != ':' ||
      !in.eof() || burst.every_s <= 0 || burst.length_s <= 0 || burst.length_s > burst.every_s || burst.rate_hz < 0) {
    throw core::ConfigError(fmt::format("--burst '{}': expected EVERY:LENGTH:RATE with 0 < LENGTH <= EVERY seconds, RATE Hz", text));
  }
  return burst;
}

nlohmann::ordered_json emulator_report(const daq::EmulatorStats& s, std::size_t streams) {
  nlohmann::ordered_json j;
  j["streams"] = streams;
  j["periods_sent"] = s.periods_sent;
  j["datagrams_sent"] = s.datagrams_sent;
  j["bytes_sent"] = s.bytes_sent;
  j["seconds"] = s.seconds;
  j["paced_seconds"] = s.paced_seconds;
  j["datagram_rate_hz"] = s.seconds > 0 ? static_cast<double>(s.datagrams_sent) / s.seconds : 0.0;
  j["frame_rate_per_stream_hz"] = s.seconds > 0 ? static_cast<double>(s.periods_sent) / s.seconds : 0.0;
  j["first_timestamp"] = s.first_timestamp;
  j["send_errors"] = s.send_errors;
  j["rate_limiter_resets"] = s.rate_limiter_resets;
  j["rate_limiter_lost_seconds"] = s.rate_limiter_lost_seconds;
  j["signal_periods"] = s.signal_periods;
  j["faults_injected"] = {{"dropped", s.dropped}, {"reordered", s.reordered}, {"duplicated", s.duplicated},
                          {"corrupted", s.corrupted}};
  return j;
}

nlohmann::ordered_json receive_report(const daq::ReceiveSession& session) {
  const auto& c = session.counters();
  const double seconds = session.active_seconds();
  const auto rate = [seconds](std::uint64_t n) { return seconds > 0 ? static_cast<double>(n) / seconds : 0.0; };
  nlohmann::ordered_json j;
  j["listen"] = session.local_address();
  j["socket_buffer_bytes"] = session.socket_buffer_bytes();
  j["active_seconds"] = seconds;
  j["frames_emitted"] = session.frames_emitted();
  j["frame_rate_hz"] = rate(session.frames_emitted());
  j["datagram_rate_hz"] = rate(c.datagrams_received.get());
  j["throughput_MB_per_s"] = rate(c.bytes_received.get()) / 1e6;
  j["anomalies"] = c.anomalies();
  j["counters"] = daq::to_json(c);
  return j;
}

void print_emulator_report(const nlohmann::ordered_json& r) {
  fmt::print("emulator: {} frame periods x {} streams = {} datagrams ({:.1f} MB) in {:.3f} s  "
             "[{:.0f} frames/s per stream, {:.0f} datagrams/s]\n",
             r["periods_sent"].get<std::uint64_t>(), r["streams"].get<std::size_t>(),
             r["datagrams_sent"].get<std::uint64_t>(), r["bytes_sent"].get<double>() / 1e6, r["seconds"].get<double>(),
             r["frame_rate_per_stream_hz"].get<double>(), r["datagram_rate_hz"].get<double>());
  const auto& f = r["faults_injected"];
  fmt::print("emulator: {} face-periods carried an injected nu_e CC interaction\n", r["signal_periods"].get<std::uint64_t>());
  fmt::print("emulator: faults injected: dropped {}, reordered {}, duplicated {}, corrupted {}; send errors {}\n",
             f["dropped"].get<std::uint64_t>(), f["reordered"].get<std::uint64_t>(), f["duplicated"].get<std::uint64_t>(),
             f["corrupted"].get<std::uint64_t>(), r["send_errors"].get<std::uint64_t>());
}

void print_receive_report(const nlohmann::ordered_json& r) {
  fmt::print("receiver: {} images from {} datagrams on {} in {:.3f} s  [{:.0f} images/s, {:.0f} datagrams/s, {:.1f} MB/s]\n",
             r["frames_emitted"].get<std::uint64_t>(), r["counters"]["datagrams_received"].get<std::uint64_t>(),
             r["listen"].get<std::string>(), r["active_seconds"].get<double>(), r["frame_rate_hz"].get<double>(),
             r["datagram_rate_hz"].get<double>(), r["throughput_MB_per_s"].get<double>());
  fmt::print("receiver counters ({} anomalies):\n", r["anomalies"].get<std::uint64_t>());
  for (const auto& [name, value] : r["counters"].items()) fmt::print("  {:<22} {}\n", name, value.get<std::uint64_t>());
}

void warn_cache(const std::string& what) { spdlog::warn("{} (going on without the cache)", what); }

}  // namespace larsel::app
