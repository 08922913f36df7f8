#pragma once
// How pipeline threads wait and are named. An idle stage spins briefly, then
// yields, then sleeps 20 us at a time (DUNE-DAQ's post-processing threads
// sleep 50 us when empty): on a 2-core host a spinning consumer would take the
// core its producer needs.
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
    if (idle_rounds_ < 32) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else if (idle_rounds_ < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
  void reset() noexcept { idle_rounds_ = 0; }

 private:
  unsigned idle_rounds_ = 0;
};

/// Names the calling thread (shown by top -H, perf) and asks for 1 us timer slack,
/// so that 20 us sleeps last ~20 us rather than the default slack's 70.
inline void prepare_pipeline_thread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
}

}  // namespace larsel::pipeline
