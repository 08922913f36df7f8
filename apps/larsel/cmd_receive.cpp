// larsel receive: UDP WIBEth -> 480 x 64 images, with every anomaly counted.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "signal_stop.hpp"

namespace larsel::app {
namespace {

struct ReceiveOptions {
  daq::ReceiveConfig config;
  daq::ReceiveLimits limits;
  unsigned faces = 1;
  std::string channel_map;
  unsigned timeout_us = 10'000;
  bool json = false;
};

int run_receive(ReceiveOptions& o) {
  const daq::ChannelMap map = load_channel_map(o.channel_map, o.faces);
  const auto available = map.faces();
  if (available.size() < o.faces) {
    throw std::runtime_error(fmt::format("--faces {}: the channel map has only {} faces", o.faces, available.size()));
  }
  o.config.faces.assign(available.begin(), available.begin() + o.faces);
  o.config.builder.incomplete_timeout = std::chrono::microseconds(o.timeout_us);
  std::uint64_t incomplete_logged = 0;
  daq::ReceiveSession session(o.config, map, [&](daq::FrameHandle frame) {
    if (!frame->complete() && incomplete_logged++ < 10) {
      spdlog::warn("image face {} seq {} ts {} incomplete: missing streams mask 0x{:05x}", frame->face, frame->sequence,
                   frame->timestamp, frame->missing_streams());
    }
  });
  spdlog::info("listening on {} for {} face(s)", session.local_address(), o.faces);
  std::atomic<bool> stop{false};
  {
    SignalStop on_signal(stop);
    session.run(stop, o.limits);
  }
  const auto report = receive_report(session);
  if (o.json) fmt::print("{}\n", report.dump(2));
  else print_receive_report(report);
  return 0;
}

}  // namespace

void add_receive_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("receive", "Receive WIBEth UDP streams and build 480x64 collection images per face");
  auto o = std::make_shared<ReceiveOptions>();
  cmd->add_option("--listen", o->config.listen, "Address to bind, HOST:PORT")->capture_default_str();
  auto* frames = cmd->add_option("--frames", o->limits.frames, "Stop after this many images (images still open are flushed too)")
                     ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000'000}));
  cmd->add_option("--seconds", o->limits.seconds, "Stop after this many seconds")
      ->excludes(frames)
      ->check(CLI::PositiveNumber)
      ->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--idle-seconds", o->limits.idle_seconds, "Stop when data has flowed and then paused this long")
      ->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--faces", o->faces, "Faces to build (the first N of the channel map)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--channel-map", o->channel_map, "PD2HD 13-column channel map (default: built-in emulated detector)")->check(CLI::ExistingFile);
  cmd->add_option("--timeout-us", o->timeout_us, "Emit an image incomplete this long after its first datagram")
      ->check(CLI::Range(100, 10'000'000))
      ->capture_default_str();
  cmd->add_option("--window", o->config.builder.window_frames, "Image periods held open per face")
      ->check(CLI::Range(2u, daq::kMaxWindowFrames))->capture_default_str();
  cmd->add_option("--socket-buffer", o->config.socket_buffer_bytes, "Kernel receive buffer, bytes")
      ->check(CLI::Range(65536, 1 << 30))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print rates and counters as JSON");
  cmd->callback([&action, o] { action = [o] { return run_receive(*o); }; });
}

}  // namespace larsel::app
