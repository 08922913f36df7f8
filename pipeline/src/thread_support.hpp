#pragma once
// How pipeline threads wait and are named. A thread with nothing to do spins
// a moment (a frame often follows within a burst), then sleeps on a futex until
// its queue moves: no polling. The emulator hands frames over in 200 us bursts,
// like a NIC's interrupt coalescing, so a stage wakes about once per burst, not
// per frame. (Sleeping 10-160 us and looking again, as before, cost each thread
// more CPU at the real rate than its frames did: 49 us of CPU per frame in all
// against 10 us of stage work.) The producer's wake is one atomic add, and a
// system call only when the consumer sleeps.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <string>
#include <thread>

#include <pthread.h>
#include <sys/prctl.h>

namespace larsel::pipeline {

/// A counter a thread can sleep on until it moves: what a queue's pushes (or pops) wake their consumer (or
/// producer) with.
class Waker {
 public:
  [[nodiscard]] std::uint32_t epoch() const noexcept { return epoch_.load(std::memory_order_seq_cst); }
  void wake() noexcept {
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    // One system call per sleep: the pushes that follow while the sleeper is being woken skip it.
    if (sleepers_.load(std::memory_order_seq_cst) != 0 && !woken_.exchange(true, std::memory_order_seq_cst)) {
      futex(FUTEX_WAKE_PRIVATE, INT_MAX, nullptr);
    }
  }
  /// Returns once the epoch is not `seen`, or after `timeout` (a safety net: flags set without a wake, periodic
  /// work). Spins, then, if frames were flowing (the last wait ended with a push), yields a few times (on a machine
  /// with more threads than cores another stage runs meanwhile, and this one is back without a wake-up latency),
  /// then sleeps; after a timeout it sleeps at once. Dekker-style: the sleeper counts itself before the futex
  /// compares the epoch, and wake() moves the epoch before it looks for sleepers, so no wake is lost. (One thread
  /// waits on a Waker: its state is the waiter's.)
  void wait(std::uint32_t seen, std::chrono::microseconds timeout) noexcept {
    const int yields = flowing_ ? kYields : 0;
    for (int i = 0; i < kSpins + yields; ++i) {
      if (epoch_.load(std::memory_order_relaxed) != seen) {
        flowing_ = true;
        return;
      }
      if (i < kSpins) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
    flowing_ = false;
    woken_.store(false, std::memory_order_seq_cst);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    if (epoch_.load(std::memory_order_seq_cst) == seen) {
      const auto us = std::max<std::int64_t>(1, timeout.count());
      const timespec ts{static_cast<std::time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000 * 1000)};
      futex(FUTEX_WAIT_PRIVATE, static_cast<int>(seen), &ts);
    }
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    flowing_ = epoch_.load(std::memory_order_relaxed) != seen;  // woken by a push: more are likely to follow
  }

 private:
  static constexpr int kSpins = 64;  // ~1-2 us
  static constexpr int kYields = 2;  // bench pipeline: 2 keeps the capacity of 8 and saves 6 us of CPU per frame at the real rate
  void futex(int op, int value, const timespec* timeout) noexcept {
    // std::atomic<std::uint32_t> is a lock-free 32-bit word: the futex itself.
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&epoch_), op, value, timeout, nullptr, 0);
  }
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::uint32_t> sleepers_{0};
  std::atomic<bool> woken_{false};
  bool flowing_ = false;  // the waiter's: its last wait ended before it slept
};

/// How long a waiting thread sleeps at most before it looks at the flags that are set without a wake.
inline constexpr std::chrono::microseconds kWaitTimeout{1000};

/// Names the calling thread (shown by top -H, perf) and asks for 1 us timer slack,
/// so that 20 us sleeps last ~20 us rather than the default slack's 70.
inline void prepare_pipeline_thread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
}

}  // namespace larsel::pipeline
