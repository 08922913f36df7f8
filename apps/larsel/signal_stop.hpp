#pragma once
// Sets a stop flag on SIGINT or SIGTERM (Boost.Asio signal_set on its own
// thread), so run loops end cleanly and print their summary.
#include <atomic>
#include <memory>

namespace larsel::app {

class SignalStop {
 public:
  explicit SignalStop(std::atomic<bool>& stop);
  ~SignalStop();
  SignalStop(const SignalStop&) = delete;
  SignalStop& operator=(const SignalStop&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace larsel::app
