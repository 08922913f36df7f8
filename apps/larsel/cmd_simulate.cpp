// larsel simulate: a labelled data set of simulated collection frames (HDF5): independent frames,
// or with --continuous one face's stream with per-event truth.
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/core/errors.hpp"
#include "common.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/daq/sim/parallel_simulation.hpp"

namespace larsel::app {
namespace {

struct SimulateOptions {
  std::uint64_t signal = 0, background = 0, seed = 1, frames = 0, events = 0;
  std::string out, config_path;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool print_config = false, continuous = false;
};

/// `--continuous`: one face's stream of `frames` frames with `events` neutrino events at random times.
int run_continuous(const SimulateOptions& o, const daq::sim::SimConfig& config) {
  if (o.signal + o.background > 0) throw core::ConfigError("--continuous takes --frames and --events, not --signal/--background");
  if (o.frames == 0) throw core::ConfigError("--continuous needs --frames (the length of the stream)");
  if (o.events > o.frames / 2) {
    throw core::ConfigError(fmt::format("--events {} is more than one per 2 frames of the {}-frame stream", o.events, o.frames));
  }
  const daq::sim::StreamPlan plan{o.frames, o.events};
  daq::sim::DatasetWriter writer(o.out, daq::sim::to_yaml(config), o.seed);
  writer.set_stream(plan.frames, plan.events);
  spdlog::info("simulating a continuous stream of {} frames with {} neutrino events on {} threads (seed {})", o.frames,
               o.events, o.threads, o.seed);
  const std::uint64_t report_every = std::max<std::uint64_t>(o.frames / 10, 1000);
  std::uint64_t next_report = report_every, signal_frames = 0, partial_frames = 0;
  const auto stats = daq::sim::simulate_stream(
      config, o.seed, plan, o.threads, daq::sim::kChunkFrames,
      [](daq::sim::FrameBlock& block) { daq::sim::encode_chunk(block.pixels, block.encoded); },
      [&](const daq::sim::FrameBlock& block) {
        writer.append_encoded(block.encoded, block.truth);
        writer.append_events(block.events);
        for (const auto& t : block.truth) {
          signal_frames += t.label == daq::sim::FrameLabel::signal;
          partial_frames += t.label == daq::sim::FrameLabel::partial;
        }
        if (writer.size() >= next_report) {
          spdlog::info("{} / {} frames", writer.size(), o.frames);
          next_report += report_every;
        }
      });
  writer.close();
  fmt::print("{}: continuous stream of {} frames, {} neutrino events ({} signal frames holding >= {:.0f} % of an event's "
             "visible energy, {} with less) in {:.2f} s, {:.0f} frames/s\n",
             o.out, o.frames, o.events, signal_frames, 100 * daq::sim::kSignalFrameShare, partial_frames, stats.seconds,
             stats.frames_per_second);
  return 0;
}

int run_simulate(const SimulateOptions& o) {
  const daq::sim::SimConfig config = daq::sim::load_sim_config(o.config_path);
  if (o.print_config) {
    fmt::print("{}", daq::sim::to_yaml(config));
    return 0;
  }
  if (o.out.empty()) throw CLI::RequiredError("--out");
  if (o.continuous) return run_continuous(o, config);
  if (o.frames + o.events > 0) throw core::ConfigError("--frames and --events belong to --continuous");
  if (o.signal + o.background == 0) throw core::ConfigError("nothing to simulate: give --signal and/or --background");
  daq::sim::DatasetWriter writer(o.out, daq::sim::to_yaml(config), o.seed);
  const std::uint64_t total = o.signal + o.background, report_every = std::max<std::uint64_t>(total / 10, 1000);
  spdlog::info("simulating {} signal + {} background frames on {} threads (seed {})", o.signal, o.background, o.threads, o.seed);
  std::uint64_t next_report = report_every;
  const auto stats = daq::sim::simulate_frames(
      config, o.seed, o.signal, o.background, o.threads, daq::sim::kChunkFrames,
      [](daq::sim::FrameBlock& block) { daq::sim::encode_chunk(block.pixels, block.encoded); },  // on the workers
      [&](const daq::sim::FrameBlock& block) {
        writer.append_encoded(block.encoded, block.truth);
        if (writer.size() >= next_report) {
          spdlog::info("{} / {} frames", writer.size(), total);
          next_report += report_every;
        }
      });
  writer.close();
  fmt::print("{}: {} frames ({} signal, {} background) in {:.2f} s, {:.0f} frames/s\n", o.out, total, o.signal,
             o.background, stats.seconds, stats.frames_per_second);
  return 0;
}

}  // namespace

void add_simulate_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("simulate", "Write a labelled data set of simulated 480x64 collection frames (HDF5)");
  auto o = std::make_shared<SimulateOptions>();
  cmd->add_option("--signal", o->signal, "Frames with a supernova-like nu_e CC interaction (frames 0..N-1)")
      ->check(CLI::Range(0, 1'000'000'000));
  cmd->add_option("--background", o->background, "Frames with radiological backgrounds and noise only")
      ->check(CLI::Range(0, 1'000'000'000));
  cmd->add_flag("--continuous", o->continuous,
                "One face's continuous stream: events at random times, their charge in whichever frames it reaches, "
                "per-event truth (with --frames, --events)");
  cmd->add_option("--frames", o->frames, "--continuous: length of the stream in frames")->check(CLI::Range(1, 1'000'000'000));
  cmd->add_option("--events", o->events, "--continuous: neutrino events, one at a random time in each of N equal stretches")
      ->check(CLI::Range(0, 500'000'000));
  cmd->add_option("--out", o->out, "Output HDF5 file (written as OUT.tmp, renamed when complete)");
  cmd->add_option("--seed", o->seed, "Run seed: frame i depends only on (seed, i)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--config", o->config_path, "Simulation YAML (see --print-config for every key)")->check(CLI::ExistingFile);
  cmd->add_option("--threads", o->threads, "Worker threads")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_flag("--print-config", o->print_config, "Print the effective configuration and exit");
  cmd->callback([&action, o] { action = [o] { return run_simulate(*o); }; });
}

}  // namespace larsel::app
