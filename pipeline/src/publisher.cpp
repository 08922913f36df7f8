#include "publisher.hpp"

#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace larsel::pipeline {
namespace {

constexpr int kSubscriptionHwm = 1000;  // subscription messages queued from peers before libzmq stops reading them

std::unique_ptr<zmq::socket_t> bind_socket(zmq::context_t& context, zmq::socket_type type, const std::string& endpoint,
                                           const char* key, int hwm, int linger_ms, std::string& bound) {
  auto socket = std::make_unique<zmq::socket_t>(context, type);
  socket->set(zmq::sockopt::sndhwm, hwm);
  socket->set(zmq::sockopt::linger, linger_ms);
  // Peers of a publisher only subscribe: anything longer than a subscription closes their connection
  // before it is buffered (a hostile peer announcing a 300 MB frame otherwise grows the process by as much).
  socket->set(zmq::sockopt::maxmsgsize, wire::kMaxSubscriptionBytes);
  socket->set(zmq::sockopt::rcvhwm, kSubscriptionHwm);
  try {
    socket->bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(fmt::format("zmq.{}: cannot bind '{}': {}", key, endpoint, e.what()));
  }
  bound = socket->get(zmq::sockopt::last_endpoint);
  return socket;
}

}  // namespace

Publisher::Publisher(const ZmqConfig& config, std::uint64_t run, OutputMetrics& metrics)
    : config_(config), run_(run), metrics_(metrics) {
  if (!config.publish.empty()) {
    xpub_ = bind_socket(context_, zmq::socket_type::xpub, config.publish, "publish", config.publish_hwm, config.linger_ms, publish_endpoint_);
    xpub_->set(zmq::sockopt::xpub_verbose, 1);  // report every subscription, also repeated ones from new subscribers
  }
  if (!config.push.empty()) {
    push_ = bind_socket(context_, zmq::socket_type::push, config.push, "push", config.push_hwm, config.linger_ms, push_endpoint_);
  }
  decisions_.reserve(config.decision_batch);
}

Publisher::~Publisher() = default;

void Publisher::poll_subscriptions() {
  if (!xpub_) return;
  zmq::message_t message;
  while (xpub_->recv(message, zmq::recv_flags::dontwait)) {
    // First byte 1 = subscribe, 0 = unsubscribe; the rest is the topic prefix.
    if (message.size() == 0) continue;
    const auto kind = *static_cast<const std::uint8_t*>(message.data());
    auto& count = metrics_.subscriptions;
    if (kind == 1) count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    else if (kind == 0 && count.load(std::memory_order_relaxed) > 0) count.store(count.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
}

std::uint64_t Publisher::wait_for_subscribers(std::uint64_t count, std::chrono::duration<double> timeout, const std::atomic<bool>& stop) {
  const auto deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(timeout);
  while (xpub_ && metrics_.subscriptions.load() < count && SteadyClock::now() < deadline && !stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    poll_subscriptions();
  }
  return metrics_.subscriptions.load();
}

bool Publisher::send_multipart(zmq::socket_t& socket, std::string_view topic, std::string_view header, std::span<const std::byte> payload) {
  const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  // A multipart message is atomic: if the first part is refused (PUSH at its HWM) nothing is queued.
  if (!socket.send(zmq::buffer(topic.data(), topic.size()), more)) return false;
  if (payload.empty()) return socket.send(zmq::buffer(header.data(), header.size()), zmq::send_flags::dontwait).has_value();
  socket.send(zmq::buffer(header.data(), header.size()), more);
  return socket.send(zmq::buffer(payload.data(), payload.size()), zmq::send_flags::dontwait).has_value();
}

void Publisher::publish_selected(wire::FrameHeader& header, std::span<const std::uint16_t> adc) {
  header.message = selected_messages_++;
  header.run = run_;
  const std::string json = wire::to_json(header);
  const auto payload = std::as_bytes(adc);
  if (xpub_) {
    send_multipart(*xpub_, wire::kTopicSelected, json, payload);
    metrics_.selected_published.add();
  }
  if (push_) {
    if (send_multipart(*push_, wire::kTopicSelected, json, payload)) metrics_.push_sent.add();
    else metrics_.push_dropped_hwm.add();
  }
}

void Publisher::add_decision(const wire::DecisionRecord& record, SteadyClock::time_point now) {
  if (!xpub_) return;
  if (decisions_.empty()) first_pending_decision_ = now;
  decisions_.push_back(record);  // capacity reserved: no allocation
  if (decisions_.size() >= config_.decision_batch) flush_decisions(now, true);
}

void Publisher::flush_decisions(SteadyClock::time_point now, bool force) {
  if (!xpub_ || decisions_.empty()) return;
  if (!force && now - first_pending_decision_ < std::chrono::duration<double>(config_.decision_flush_s)) return;
  wire::DecisionBatchHeader header{decision_messages_++, run_, static_cast<std::uint32_t>(decisions_.size())};
  send_multipart(*xpub_, wire::kTopicDecision, wire::to_json(header), std::as_bytes(std::span(decisions_)));
  metrics_.decision_messages.add();
  decisions_.clear();
}

void Publisher::publish_metrics(nlohmann::ordered_json body) {
  if (!xpub_) return;
  nlohmann::ordered_json j;
  j["format"] = wire::kMetricsFormat;
  j["message"] = metrics_messages_++;
  j["run"] = run_;
  j["time_unix_ns"] = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (auto& [key, value] : body.items()) j[key] = std::move(value);
  send_multipart(*xpub_, wire::kTopicMetrics, j.dump(), {});
  metrics_.metrics_messages.add();
}

void Publisher::publish_run_info(const wire::RunInfo& info) {
  if (!xpub_) return;
  send_multipart(*xpub_, wire::kTopicRunInfo, wire::to_json(info), {});
}

}  // namespace larsel::pipeline
