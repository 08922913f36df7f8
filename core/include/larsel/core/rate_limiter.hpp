#pragma once
// Sleep-then-spin pacing, after DUNE-DAQ readoutlibs utils/RateLimiter.hpp:
// sleep while the deadline is far, busy-wait the last stretch (scheduler
// wake-up jitter is tens of us, a WIBEth period is 32.8 us), then advance the
// deadline by exactly one period so the long-term rate is exact. If the
// caller falls behind by more than max_overshoot the deadline is reset
// instead of bursting to catch up.
#include <chrono>
#include <cstdint>

namespace larsel::core {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::nanoseconds kMaxOvershoot{std::chrono::milliseconds(10)};
  /// Below this remaining time the limiter spins instead of sleeping.
  static constexpr std::chrono::nanoseconds kSpinWindow{std::chrono::microseconds(60)};

  explicit RateLimiter(double rate_hz);
  /// Block until the next period starts.
  void limit() noexcept;
  void set_rate(double rate_hz);
  [[nodiscard]] std::chrono::nanoseconds period() const noexcept { return period_; }
  /// How often the caller was so late that the deadline was reset.
  [[nodiscard]] std::uint64_t resets() const noexcept { return resets_; }
  /// Time given up by those resets (stalls of the caller or the machine): the
  /// limiter kept its rate over the rest.
  [[nodiscard]] std::chrono::nanoseconds lost() const noexcept { return lost_; }

 private:
  std::chrono::nanoseconds period_;
  Clock::time_point deadline_;
  std::uint64_t resets_ = 0;
  std::chrono::nanoseconds lost_{0};
};

}  // namespace larsel::core
