#pragma once
// One receiving thread: UDP socket -> validation -> frame builder -> sink.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "larsel/daq/frame_builder.hpp"
#include "larsel/daq/udp_receiver.hpp"

namespace larsel::daq {

struct ReceiveConfig {
  std::string listen = "127.0.0.1:50000";
  std::vector<std::uint32_t> faces{0};
  std::size_t socket_buffer_bytes = 64u << 20;  // ~9000 datagrams of slack
  std::size_t batch = 64;                       // datagrams per recvmmsg
  std::size_t pool_frames = 256;                // per face; must exceed window + frames held downstream
  FrameBuilderConfig builder;
};

struct ReceiveLimits {
  std::uint64_t frames = 0;   // stop after this many images (0 = no limit)
  double seconds = 0;         // stop after this long (0 = no limit)
  double idle_seconds = 0;    // stop once data has flowed and then paused this long (0 = never)
};

class ReceiveSession {
 public:
  /// Binds the socket at once, so a sender may start right after this returns.
  /// Frames handed to `on_frame` return to this session's pool when released:
  /// release them before the session is destroyed.
  ReceiveSession(const ReceiveConfig& config, const ChannelMap& map, FrameBuilder::Sink on_frame);

  /// Receive on the calling thread until a limit is reached or `stop` is set,
  /// then emit every pending image.
  void run(const std::atomic<bool>& stop, const ReceiveLimits& limits);

  [[nodiscard]] std::string local_address() const { return receiver_.local_address(); }
  [[nodiscard]] const ReceiveCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::uint64_t frames_emitted() const noexcept {
    return counters_.frames_complete.get() + counters_.frames_incomplete.get();
  }
  /// Time from the first to the last datagram of the run.
  [[nodiscard]] double active_seconds() const noexcept { return active_seconds_; }
  [[nodiscard]] std::size_t socket_buffer_bytes() const { return receiver_.socket_buffer_bytes(); }

 private:
  ReceiveCounters counters_;
  FramePool pool_;
  UdpReceiver receiver_;
  FrameBuilder builder_;
  std::size_t batch_;
  double active_seconds_ = 0;
};

}  // namespace larsel::daq
