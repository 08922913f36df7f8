#pragma once
// How pipeline threads wait and are named. An idle stage spins briefly, then
// yields, then sleeps, 10 us at first and doubling every two sleeps up to 160 us
// (DUNE-DAQ's post-processing threads sleep 50 us when empty). On a 2-core host a
// spinning consumer would take the core its producer needs, and waking every
// 20 us costs as much CPU as the frames themselves: the growing sleep lets a
// stage take the frames that arrived meanwhile in one burst. A stage thus adds
// at most ~160 us of latency when it has been idle.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include <pthread.h>
#include <sys/prctl.h>

namespace larsel::pipeline {

class IdleBackoff {
 public:
  void wait() noexcept {
    ++idle_rounds_;
    if (idle_rounds_ < kSpinRounds) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else if (idle_rounds_ < 2 * kSpinRounds) {
      std::this_thread::yield();
    } else {
      const unsigned doublings = std::min((idle_rounds_ - 2 * kSpinRounds) / 2, kMaxDoublings);
      std::this_thread::sleep_for(std::chrono::microseconds(10) * (1u << doublings));
    }
  }
  void reset() noexcept { idle_rounds_ = 0; }

 private:
  static constexpr unsigned kSpinRounds = 32;
  static constexpr unsigned kMaxDoublings = 4;  // 10 us x 2^4 = 160 us
  unsigned idle_rounds_ = 0;
};

/// Names the calling thread (shown by top -H, perf) and asks for 1 us timer slack,
/// so that 20 us sleeps last ~20 us rather than the default slack's 70.
inline void prepare_pipeline_thread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
}

}  // namespace larsel::pipeline
