#include "larsel/core/rate_limiter.hpp"

#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"

namespace larsel::core {

RateLimiter::RateLimiter(double rate_hz) : period_(0), deadline_(Clock::now()) {
  set_rate(rate_hz);
  deadline_ = Clock::now() + period_;
}

void RateLimiter::set_rate(double rate_hz) {
  if (!(rate_hz > 0) || !std::isfinite(rate_hz) || rate_hz > 1e9) {
    throw core::ConfigError(fmt::format("rate limiter: rate {} Hz must be in (0, 1e9]", rate_hz));
  }
  period_ = std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(1e9 / rate_hz)));
}

void RateLimiter::limit() noexcept {
  auto now = Clock::now();
  if (now > deadline_ + kMaxOvershoot) {
    ++resets_;
    lost_ += std::chrono::duration_cast<std::chrono::nanoseconds>(now - deadline_);
    deadline_ = now + period_;
    return;
  }
  if (deadline_ - now > kSpinWindow) std::this_thread::sleep_for(deadline_ - now - kSpinWindow);
  while (Clock::now() < deadline_) {
  }
  deadline_ += period_;
}

}  // namespace larsel::core
