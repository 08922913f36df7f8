#include "larsel/daq/receive_session.hpp"

#include <algorithm>

#include "larsel/core/errors.hpp"

namespace larsel::daq {

ReceiveSession::ReceiveSession(const ReceiveConfig& config, const ChannelMap& map, FrameBuilder::Sink on_frame)
    : pool_(config.pool_frames * std::max<std::size_t>(config.faces.size(), 1)),
      receiver_(config.listen, config.socket_buffer_bytes, config.batch),
      builder_(map, config.faces, pool_, counters_, std::move(on_frame), config.builder),
      batch_(std::max<std::size_t>(config.batch, 1)) {
  if (config.pool_frames <= config.builder.window_frames) {
    throw core::ConfigError("receiver: pool_frames per face must exceed the builder's window_frames");
  }
}

void ReceiveSession::run(const std::atomic<bool>& stop, const ReceiveLimits& limits) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kPollTimeout = std::chrono::milliseconds(2);
  const auto start = Clock::now();
  Clock::time_point first_data{}, last_data{};
  bool have_data = false;
  const auto elapsed = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  while (!stop.load(std::memory_order_relaxed)) {
    const std::size_t n = receiver_.receive_batch(kPollTimeout);
    const auto now = Clock::now();
    for (std::size_t i = 0; i < n; ++i) builder_.on_datagram(receiver_.datagram(i), receiver_.length(i), now);
    if (n > 0) {
      if (!have_data) first_data = now;
      have_data = true;
      last_data = now;
    }
    // Timeouts only once the socket is drained: after a stall of this thread
    // the missing datagrams may still be queued behind a full batch.
    if (n < batch_) builder_.poll_timeouts(now);
    if (limits.frames != 0 && frames_emitted() >= limits.frames) break;
    if (limits.seconds > 0 && elapsed(start, now) >= limits.seconds) break;
    if (limits.idle_seconds > 0 && have_data && elapsed(last_data, now) >= limits.idle_seconds) break;
  }
  builder_.flush();
  active_seconds_ = have_data ? elapsed(first_data, last_data) : 0.0;
}

}  // namespace larsel::daq
