// larsel emulate: paced WIBEth streams over UDP.
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "signal_stop.hpp"

namespace larsel::app {
namespace {

struct EmulateOptions {
  daq::EmulatorConfig config;
  std::string source = "physics", sim_config, burst;
  std::string channel_map;
  std::string fault_log;
  bool json = false;
};

void write_fault_log(std::ofstream& out, const std::string& path, const daq::Emulator& emulator) {
  if (!emulator.fault_log_complete()) spdlog::warn("{}: fault log truncated at {} entries", path, daq::Emulator::kMaxFaultLog);
  nlohmann::json j = nlohmann::json::array();
  for (const auto& f : emulator.fault_log()) {
    const auto& key = emulator.streams()[f.stream];
    j.push_back({{"period", f.period}, {"crate", key.crate}, {"slot", key.slot}, {"stream", key.stream},
                 {"kind", daq::fault_name(f.kind)}});
  }
  if (!(out << j.dump() << '\n')) throw std::runtime_error(fmt::format("{}: cannot write the fault log", path));
}

int run_emulate(EmulateOptions& o) {
  const daq::ChannelMap map = load_channel_map(o.channel_map, o.config.faces);
  if (!o.burst.empty()) o.config.burst = parse_burst(o.burst);
  const auto source = make_waveform_source(o.source, o.sim_config, o.config.seed);
  daq::Emulator emulator(o.config, map, *source);
  std::ofstream fault_log;  // opened before sending, so a bad path fails before any datagram goes out
  if (!o.fault_log.empty()) {
    fault_log.open(o.fault_log);
    if (!fault_log) throw std::runtime_error(fmt::format("{}: cannot open the fault log for writing", o.fault_log));
  }
  spdlog::info("emulating {} face(s) = {} streams to {} at {}", o.config.faces, emulator.streams().size(), o.config.target,
               o.config.max_rate ? std::string("maximum rate") : fmt::format("{} x 30517.6 frames/s", o.config.speed));
  std::atomic<bool> stop{false};
  {
    SignalStop on_signal(stop);
    emulator.run(stop);
  }
  const auto report = emulator_report(emulator.stats(), emulator.streams().size());
  if (o.json) fmt::print("{}\n", report.dump(2));
  else print_emulator_report(report);
  if (fault_log.is_open()) write_fault_log(fault_log, o.fault_log, emulator);
  return 0;
}

}  // namespace

void add_emulate_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("emulate", "Send emulated WIBEth streams (LArTPC physics simulation) over UDP at the readout rate");
  auto o = std::make_shared<EmulateOptions>();
  auto& c = o->config;
  cmd->add_option("--target", c.target, "Receiver address HOST:PORT")->capture_default_str();
  cmd->add_option("--faces", c.faces, "APA faces to emulate (20 streams each)")->check(CLI::Range(1, 64))->capture_default_str();
  auto* speed = cmd->add_option("--speed", c.speed, "Rate as a fraction of the real 30,517.6 frames/s per stream")
                    ->check(CLI::Range(1e-6, 1000.0))->capture_default_str();
  cmd->add_flag("--max", c.max_rate, "Send as fast as possible (no pacing)")->excludes(speed);
  cmd->add_option("--frames", c.periods, "Frame periods to send (one 7200-B frame per stream each; 0 = no limit; 1e12 = a year)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000'000}))
      ->capture_default_str();
  cmd->add_option("--seconds", c.seconds, "Stop after this many seconds (0 = no limit)")->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--drop", c.faults.drop, "Probability to drop a datagram")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--reorder", c.faults.reorder, "Probability to send a datagram after its stream's next one")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--duplicate", c.faults.duplicate, "Probability to send a datagram twice")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--corrupt", c.faults.corrupt, "Probability to damage a datagram (length or header)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", c.seed, "Seed for noise and fault injection")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--pool-periods", c.pool_periods, "Preloaded frame periods, looped")->check(CLI::Range(2, 100000))->capture_default_str();
  cmd->add_option("--source", o->source, "Waveforms: physics (LArTPC simulation) or noise (pedestal + Gaussian)")
      ->check(CLI::IsMember({"physics", "noise"}))->capture_default_str();
  cmd->add_option("--sim-config", o->sim_config, "Simulation YAML for the physics source (see `larsel simulate --print-config`)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--signal-rate", c.signal_rate_hz, "nu_e CC periods per second of data time, per face")->check(CLI::Range(0.0, 30000.0));
  cmd->add_option("--burst", o->burst, "Bursts EVERY:LENGTH:RATE: every EVERY s (data time), for LENGTH s, RATE Hz of signal");
  cmd->add_option("--signal-pool", c.signal_pool_periods, "Preloaded signal periods, used in turn")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--truth-file", c.truth_file, "Write the truth of every injected signal period (JSON lines, keyed by timestamp)");
  cmd->add_option("--channel-map", o->channel_map, "PD2HD 13-column channel map (default: built-in emulated detector)")->check(CLI::ExistingFile);
  cmd->add_option("--fault-log", o->fault_log, "Write every injected fault as JSON to this file");
  cmd->add_flag("--json", o->json, "Print the final statistics as JSON");
  cmd->callback([&action, o] { action = [o] { return run_emulate(*o); }; });
}

}  // namespace larsel::app
