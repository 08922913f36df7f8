// The UDP input: WIBEth datagrams -> validation -> frame builder -> pipeline, with
// the readout emulator optionally sending from another thread of this process.
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "frame_source.hpp"
#include "larsel/daq/emulator.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/daq/receive_session.hpp"
#include "larsel/daq/sim/physics_source.hpp"
#include "larsel/daq/wibeth.hpp"
#include "thread_support.hpp"

namespace larsel::pipeline {
namespace {

constexpr std::size_t kMaxPoolFrames = 4096;  // 250 MB of received images

class UdpSource final : public FrameSource {
 public:
  UdpSource(const InputConfig& config, RunLimits limits, std::size_t pipeline_slots)
      : config_(config), limits_(limits), map_(daq::ChannelMap::emulated(1)) {
    daq::ReceiveConfig receive;
    receive.listen = config.udp_listen;
    receive.faces = {map_.faces().front()};
    receive.socket_buffer_bytes = config.udp_socket_buffer_bytes;
    // Every slot may hold a received image, plus the open window; at most kMaxPoolFrames (61 kB each):
    // past that the receiver counts pool_exhausted.
    receive.pool_frames = std::min(pipeline_slots, kMaxPoolFrames) + 2 * config.builder.window_frames;
    receive.builder = config.builder;
    session_ = std::make_unique<daq::ReceiveSession>(receive, map_, [this](daq::FrameHandle frame) { on_frame(std::move(frame)); });
    spdlog::info("udp input: receiving on {}", session_->local_address());
    if (config.udp_emulate) {
      waveforms_ = std::make_unique<daq::sim::PhysicsWaveformSource>(daq::sim::load_sim_config(config.sim_config), config.seed * 1000);
      daq::EmulatorConfig e;
      e.target = session_->local_address();
      e.speed = config.speed;
      e.max_rate = config.max_rate;
      e.periods = limits.frames;
      e.seconds = limits.seconds;
      e.seed = config.seed;
      e.signal_rate_hz = config.signal_rate_hz;
      e.signal_pool_periods = std::min(config.signal_pool_frames, 64u);
      e.pool_periods = std::min(config.pool_frames, 128u);
      emulator_ = std::make_unique<daq::Emulator>(e, map_, *waveforms_);
    }
  }

  void run(const std::atomic<bool>& stop, SourceOutput output) override {
    prepare_pipeline_thread("larsel-receive");
    feeder_.emplace(output);
    stop_ = &stop;
    std::atomic<bool> emulator_stop{false};
    std::thread sender;
    if (emulator_) sender = std::thread([&] { emulator_->run(emulator_stop); });
    daq::ReceiveLimits receive_limits;
    receive_limits.seconds = limits_.seconds > 0 ? limits_.seconds + 1.0 : 0;  // the emulator ends the run first
    receive_limits.idle_seconds = emulator_ ? 0.5 : 0;
    session_->run(stop, receive_limits);
    emulator_stop = true;
    if (sender.joinable()) sender.join();
  }

  [[nodiscard]] DataClock data_clock() const override { return clock_; }

  [[nodiscard]] std::uint64_t frames_lost_on_input() const override {
    const daq::ReceiveCounters& c = session_->counters();
    return c.frames_incomplete.get() + c.frames_without_data.get() + c.periods_skipped.get();
  }

  [[nodiscard]] nlohmann::ordered_json report() const override {
    nlohmann::ordered_json j{{"kind", "udp"}, {"listen", session_->local_address()}};
    j["receiver"] = daq::to_json(session_->counters());
    if (emulator_) {
      const auto& s = emulator_->stats();
      j["emulator"] = {{"periods_sent", s.periods_sent}, {"datagrams_sent", s.datagrams_sent}, {"send_errors", s.send_errors},
                       {"signal_periods", s.signal_periods}, {"rate_limiter_resets", s.rate_limiter_resets}};
    }
    return j;
  }

 private:
  void on_frame(daq::FrameHandle frame) {
    if (!clock_set_) {
      // The emulator stamps frames from the wall clock, advancing at `speed`: start the data clock at the first frame.
      clock_ = {frame->timestamp, unix_now_ns(), config_.speed};
      clock_set_ = true;
    }
    const auto arrival = SteadyClock::now();
    feeder_->offer([&](FrameSlot& slot) {
      slot.owned = std::move(frame);
      slot.adc = slot.owned->adc.data();
      slot.timestamp = slot.owned->timestamp;
      slot.sequence = slot.owned->sequence;
      slot.face = slot.owned->face;
      slot.face_index = 0;
      slot.missing_streams = slot.owned->missing_streams();
      slot.flags = slot.missing_streams != 0 ? wire::flag::incomplete : 0;
      slot.arrival = arrival;
    }, *stop_);
  }

  InputConfig config_;
  RunLimits limits_;
  daq::ChannelMap map_;
  std::unique_ptr<daq::ReceiveSession> session_;
  std::unique_ptr<daq::WaveformSource> waveforms_;
  std::unique_ptr<daq::Emulator> emulator_;
  std::optional<SlotFeeder> feeder_;
  const std::atomic<bool>* stop_ = nullptr;
  DataClock clock_;
  bool clock_set_ = false;
};

}  // namespace

std::unique_ptr<FrameSource> make_udp_source(const InputConfig& config, RunLimits limits, std::size_t pipeline_slots) {
  return std::make_unique<UdpSource>(config, limits, pipeline_slots);
}

}  // namespace larsel::pipeline
