// larsel demo: emulator and receiver together on loopback (the Quick start's main job).
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "larsel/core/file_io.hpp"
#include "demo_config.hpp"
#include "signal_stop.hpp"

namespace larsel::app {
namespace {

struct DemoOptions {
  std::string config_path;
  bool print_config = false;
  bool json = false;
  double seconds = -1;  // overrides the config when >= 0
  double speed = -1;
};

/// Mean pedestal and mean per-wire RMS of one image: a quick look that the
/// image holds the emulated collection baselines and noise.
struct ImageLook {
  bool taken = false;
  std::uint64_t sequence = 0;
  double mean_adc = 0, mean_wire_rms = 0;
};

void look_at(const daq::Frame& frame, ImageLook& look) {
  double sum = 0, rms_sum = 0;
  for (std::size_t w = 0; w < daq::Frame::kWires; ++w) {
    double s = 0, s2 = 0;
    for (const auto v : frame.wire(w)) {
      s += v;
      s2 += static_cast<double>(v) * v;
    }
    const double mean = s / daq::Frame::kTicks;
    sum += mean;
    rms_sum += std::sqrt(std::max(0.0, s2 / daq::Frame::kTicks - mean * mean));
  }
  look = {true, frame.sequence, sum / daq::Frame::kWires, rms_sum / daq::Frame::kWires};
}

DemoConfig load_config(const DemoOptions& o) {
  if (o.config_path.empty()) return parse_demo_config(std::string(default_demo_config_yaml()), "embedded demo config");
  return parse_demo_config(core::read_file(o.config_path, "config file"), o.config_path);
}

/// The emulator on this thread, the receiver on another; the receiver drains
/// its socket (up to 1 s) after the emulator stops. Errors of either side are rethrown.
void run_together(daq::Emulator& emulator, daq::ReceiveSession& session) {
  std::atomic<bool> stop_emulator{false}, stop_receiver{false};
  SignalStop on_signal(stop_emulator);
  std::exception_ptr receiver_error;
  std::thread receiver([&] {
    try {
      session.run(stop_receiver, {});
    } catch (...) {
      receiver_error = std::current_exception();
      stop_emulator = true;
    }
  });
  try {
    emulator.run(stop_emulator);
    for (int i = 0; i < 100 && session.counters().datagrams_received.get() < emulator.stats().datagrams_sent; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } catch (...) {
    stop_receiver = true;
    receiver.join();
    throw;
  }
  stop_receiver = true;
  receiver.join();
  if (receiver_error) std::rethrow_exception(receiver_error);
}

int run_demo(const DemoOptions& o) {
  if (o.print_config) {
    fmt::print("{}", default_demo_config_yaml());
    return 0;
  }
  DemoConfig config = load_config(o);
  if (o.seconds >= 0) config.emulator.seconds = o.seconds;
  if (o.speed > 0) config.emulator.speed = o.speed;
  if (config.emulator.seconds <= 0 && config.emulator.periods == 0) {
    throw std::runtime_error("demo: emulator.seconds or emulator.frames must be set, or it never ends");
  }
  const daq::ChannelMap map = daq::ChannelMap::emulated((config.emulator.faces + 1) / 2);
  const auto faces = map.faces();
  config.receiver.faces.assign(faces.begin(), faces.begin() + config.emulator.faces);
  ImageLook look;
  daq::ReceiveSession session(config.receiver, map, [&look](daq::FrameHandle frame) {
    if (!look.taken && frame->complete()) look_at(*frame, look);
  });
  config.emulator.target = session.local_address();
  const auto source = make_waveform_source(config.source, "", config.emulator.seed);
  daq::Emulator emulator(config.emulator, map, *source);
  spdlog::info("demo: {} face(s), {} streams, {} x real rate, {} s, loopback {}", config.emulator.faces,
               emulator.streams().size(), config.emulator.speed, config.emulator.seconds, session.local_address());

  run_together(emulator, session);
  const auto emu = emulator_report(emulator.stats(), emulator.streams().size());
  const auto rx = receive_report(session);
  const std::uint64_t sent = emulator.stats().datagrams_sent;
  const std::uint64_t accepted = session.counters().datagrams_accepted.get();
  if (o.json) {
    fmt::print("{}\n", nlohmann::ordered_json{{"emulator", emu}, {"receiver", rx}}.dump(2));
  } else {
    print_emulator_report(emu);
    print_receive_report(rx);
    if (look.taken) {
      fmt::print("image #{} (480 wires x 64 ticks): mean ADC {:.1f}, mean per-wire RMS {:.2f} ADC\n", look.sequence,
                 look.mean_adc, look.mean_wire_rms);
    }
    fmt::print("demo: {} of {} datagrams built into {} images; {} lost\n", accepted, sent, session.frames_emitted(),
               sent - std::min(sent, accepted));
  }
  if (session.frames_emitted() == 0) {
    throw std::runtime_error(fmt::format("demo: no images arrived ({} datagrams sent, {} received)", sent,
                                         session.counters().datagrams_received.get()));
  }
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("demo", "Emulate one APA face and receive it over UDP loopback (embedded default config)");
  auto o = std::make_shared<DemoOptions>();
  cmd->add_option("--config", o->config_path, "YAML config overriding the embedded default (see --print-config)");
  cmd->add_flag("--print-config", o->print_config, "Print the embedded default config and exit");
  cmd->add_option("--seconds", o->seconds, "Override emulator.seconds")->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--speed", o->speed, "Override emulator.speed")->check(CLI::Range(1e-6, 1000.0));
  cmd->add_flag("--json", o->json, "Print the reports as JSON");
  cmd->callback([&action, o] { action = [o] { return run_demo(*o); }; });
}

}  // namespace larsel::app
