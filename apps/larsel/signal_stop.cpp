#include "signal_stop.hpp"

#include <csignal>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

namespace larsel::app {

struct SignalStop::Impl {
  boost::asio::io_context io;
  boost::asio::signal_set signals{io, SIGINT, SIGTERM};
  std::thread thread;
};

SignalStop::SignalStop(std::atomic<bool>& stop) : impl_(std::make_unique<Impl>()) {
  impl_->signals.async_wait([&stop](const boost::system::error_code& error, int signal) {
    if (error) return;
    spdlog::info("signal {} received: stopping", signal);
    stop.store(true);
  });
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

SignalStop::~SignalStop() {
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace larsel::app
