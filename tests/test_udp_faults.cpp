// Emulator -> real UDP sockets on 127.0.0.1 -> receiver, with each kind of
// injected fault; the receiver's counters must equal what the emulator's
// fault log predicts, exactly.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>

#include "larsel/daq/emulator.hpp"
#include "larsel/daq/receive_session.hpp"

using namespace larsel::daq;

namespace {

struct LoopbackRun {
  EmulatorStats sent;
  std::vector<InjectedFault> faults;
  std::size_t streams = 0;
  std::map<std::string, std::uint64_t> counters;
  std::uint64_t frames_seen = 0;
  std::uint64_t last_sequence = 0;
};

/// Emulate `periods` frame periods of one face at `speed` x real rate into a
/// ReceiveSession on an ephemeral loopback port; wait for the receiver to go idle.
LoopbackRun run_loopback(std::uint64_t periods, double speed, FaultConfig faults, std::uint64_t seed = 7) {
  const ChannelMap map = ChannelMap::emulated(1);
  ReceiveConfig rc;
  rc.listen = "127.0.0.1:0";
  // Exact counts need every image to wait for its (reordered) datagrams even if
  // the sender is descheduled for a while on a loaded machine: images still
  // leave through the 64-period window and the final flush. The timeout
  // itself is tested in test_frame_builder.cpp.
  rc.builder.incomplete_timeout = std::chrono::seconds(2);
  LoopbackRun run;
  ReceiveSession session(rc, map, [&run](FrameHandle f) {
    ++run.frames_seen;
    run.last_sequence = f->sequence;
  });
  EmulatorConfig ec;
  ec.target = session.local_address();
  ec.periods = periods;
  ec.speed = speed;
  ec.faults = faults;
  ec.seed = seed;
  NoiseWaveformSource source(NoiseSourceConfig{.seed = seed});
  Emulator emulator(ec, map, source);
  std::atomic<bool> stop{false};
  std::thread receiver([&] { session.run(stop, ReceiveLimits{.seconds = 60, .idle_seconds = 0.3}); });
  emulator.run(stop);
  receiver.join();
  run.sent = emulator.stats();
  run.faults = emulator.fault_log();
  run.streams = emulator.streams().size();
  const auto counters = to_json(session.counters());
  for (const auto& [name, value] : counters.items()) run.counters[name] = value.get<std::uint64_t>();
  return run;
}

/// Runs of missing periods per stream that a later datagram of the stream
/// reveals as a forward jump (a run before the stream's first datagram is invisible).
std::uint64_t expected_gaps(const LoopbackRun& run, std::uint64_t periods) {
  std::map<std::uint32_t, std::set<std::uint64_t>> missing;
  for (const auto& f : run.faults) {
    if (f.kind == FaultKind::drop || f.kind == FaultKind::corrupt) missing[f.stream].insert(f.period);
  }
  std::uint64_t gaps = 0;
  for (const auto& [stream, set] : missing) {
    for (const auto p : set) {
      const bool starts_run = p == 0 || !set.contains(p - 1);
      if (!starts_run) continue;
      std::uint64_t end = p;
      while (set.contains(end + 1)) ++end;
      std::uint64_t first_delivered = 0;
      while (set.contains(first_delivered)) ++first_delivered;
      if (p > first_delivered && end + 1 < periods) ++gaps;
    }
  }
  return gaps;
}

std::uint64_t count(const LoopbackRun& run, FaultKind kind) {
  return static_cast<std::uint64_t>(std::count_if(run.faults.begin(), run.faults.end(), [kind](auto& f) { return f.kind == kind; }));
}

std::uint64_t distinct_periods(const LoopbackRun& run) {
  std::set<std::uint64_t> periods;
  for (const auto& f : run.faults) periods.insert(f.period);
  return periods.size();
}

/// "HOST:PORT" as ReceiveSession::local_address() gives it (a numeric host) -> the endpoint to send to.
boost::asio::ip::udp::endpoint endpoint_of(const std::string& address) {
  const auto colon = address.rfind(':');
  const auto port = static_cast<unsigned short>(std::stoi(address.substr(colon + 1)));
  return {boost::asio::ip::make_address(address.substr(0, colon)), port};
}

constexpr std::uint64_t kPeriods = 1000;  // 20,000 datagrams
constexpr double kSpeed = 0.05;            // ~30,000 datagrams/s: well inside loopback capacity

}  // namespace

TEST_CASE("clean stream over loopback: every period becomes one complete image", "[udp]") {
  const LoopbackRun run = run_loopback(kPeriods, kSpeed, {});
  CHECK(run.sent.datagrams_sent == kPeriods * 20);
  CHECK(run.counters.at("datagrams_accepted") == kPeriods * 20);
  CHECK(run.counters.at("frames_complete") == kPeriods);
  CHECK(run.frames_seen == kPeriods);
  CHECK(run.last_sequence == kPeriods - 1);
  for (const auto& [name, value] : run.counters) {
    if (name.starts_with("datagrams") || name == "bytes_received" || name == "frames_complete") continue;
    INFO(name);
    CHECK(value == 0);
  }
}

TEST_CASE("dropped datagrams: counted as lost stream frames and sequence gaps", "[udp]") {
  const LoopbackRun run = run_loopback(kPeriods, kSpeed, {.drop = 0.02});
  const std::uint64_t dropped = count(run, FaultKind::drop);
  REQUIRE(dropped > 100);
  CHECK(run.sent.dropped == dropped);
  CHECK(run.counters.at("datagrams_received") == kPeriods * 20 - dropped);
  CHECK(run.counters.at("datagrams_accepted") == kPeriods * 20 - dropped);
  CHECK(run.counters.at("stream_frames_lost") == dropped);
  CHECK(run.counters.at("frames_incomplete") == distinct_periods(run));
  CHECK(run.counters.at("frames_complete") == kPeriods - distinct_periods(run));
  CHECK(run.counters.at("seq_gap") == expected_gaps(run, kPeriods));
  CHECK(run.counters.at("duplicate") == 0);
  CHECK(run.counters.at("out_of_order") == 0);
  CHECK(run.counters.at("late") == 0);
  CHECK(run.counters.at("malformed_size") + run.counters.at("malformed_header") == 0);
}

TEST_CASE("duplicated datagrams: counted and not used twice", "[udp]") {
  const LoopbackRun run = run_loopback(kPeriods, kSpeed, {.duplicate = 0.02});
  const std::uint64_t duplicated = count(run, FaultKind::duplicate);
  REQUIRE(duplicated > 100);
  CHECK(run.counters.at("datagrams_received") == kPeriods * 20 + duplicated);
  CHECK(run.counters.at("duplicate") == duplicated);
  CHECK(run.counters.at("datagrams_accepted") == kPeriods * 20);
  CHECK(run.counters.at("frames_complete") == kPeriods);
  CHECK(run.counters.at("seq_gap") + run.counters.at("out_of_order") + run.counters.at("stream_frames_lost") == 0);
}

TEST_CASE("reordered datagrams: counted out of order, still built into complete images", "[udp]") {
  const LoopbackRun run = run_loopback(kPeriods, kSpeed, {.reorder = 0.02});
  const std::uint64_t reordered = count(run, FaultKind::reorder);
  REQUIRE(reordered > 100);
  std::uint64_t at_first_period = 0;  // a stream's very first datagram held back reveals no gap
  for (const auto& f : run.faults) at_first_period += f.period == 0;
  CHECK(run.counters.at("out_of_order") == reordered);
  CHECK(run.counters.at("seq_gap") == reordered - at_first_period);
  CHECK(run.counters.at("datagrams_accepted") == kPeriods * 20);
  CHECK(run.counters.at("frames_complete") == kPeriods);
  CHECK(run.counters.at("frames_incomplete") + run.counters.at("late") + run.counters.at("duplicate") == 0);
}

TEST_CASE("corrupted datagrams: rejected as malformed, their stream frames lost", "[udp]") {
  const LoopbackRun run = run_loopback(kPeriods, kSpeed, {.corrupt = 0.02});
  const std::uint64_t corrupted = count(run, FaultKind::corrupt);
  REQUIRE(corrupted > 100);
  CHECK(run.counters.at("malformed_size") + run.counters.at("malformed_header") == corrupted);
  CHECK(run.counters.at("malformed_size") > 0);
  CHECK(run.counters.at("malformed_header") > 0);
  CHECK(run.counters.at("datagrams_accepted") == kPeriods * 20 - corrupted);
  CHECK(run.counters.at("stream_frames_lost") == corrupted);
  CHECK(run.counters.at("frames_incomplete") == distinct_periods(run));
  CHECK(run.counters.at("seq_gap") == expected_gaps(run, kPeriods));
  CHECK(run.counters.at("unknown_stream") + run.counters.at("duplicate") + run.counters.at("out_of_order") == 0);
}

TEST_CASE("all faults at once: every datagram is accounted for", "[udp]") {
  const FaultConfig faults{.drop = 0.01, .reorder = 0.01, .duplicate = 0.01, .corrupt = 0.01};
  const LoopbackRun run = run_loopback(kPeriods, kSpeed, faults, 11);
  const std::uint64_t dropped = count(run, FaultKind::drop), duplicated = count(run, FaultKind::duplicate);
  const std::uint64_t corrupted = count(run, FaultKind::corrupt), reordered = count(run, FaultKind::reorder);
  CHECK(run.counters.at("datagrams_received") == kPeriods * 20 - dropped + duplicated);
  CHECK(run.counters.at("duplicate") == duplicated);
  CHECK(run.counters.at("out_of_order") == reordered);
  CHECK(run.counters.at("malformed_size") + run.counters.at("malformed_header") == corrupted);
  CHECK(run.counters.at("stream_frames_lost") == dropped + corrupted);
  CHECK(run.counters.at("datagrams_accepted") == kPeriods * 20 - dropped - corrupted);
  CHECK(run.counters.at("frames_complete") + run.counters.at("frames_incomplete") == kPeriods);
}

TEST_CASE("hand-made bad datagrams through a real socket are counted, not fatal", "[udp]") {
  const ChannelMap map = ChannelMap::emulated(1);
  ReceiveConfig rc;
  rc.listen = "127.0.0.1:0";
  ReceiveSession session(rc, map, [](FrameHandle) {});
  boost::asio::io_context io;
  boost::asio::ip::udp::socket sender(io, boost::asio::ip::udp::v4());
  const auto target = endpoint_of(session.local_address());
  std::vector<std::byte> frame(7200);
  wibeth::Header h;
  h.crate_id = 7;  // not in the map
  wibeth::encode_header(h, wibeth::MutableFrameView(frame.data(), 7200));
  sender.send_to(boost::asio::buffer(frame), target);
  sender.send_to(boost::asio::buffer(frame.data(), 10), target);
  std::vector<std::byte> jumbo(9000);
  sender.send_to(boost::asio::buffer(jumbo), target);
  sender.send_to(boost::asio::buffer(frame.data(), 0), target);
  std::atomic<bool> stop{false};
  session.run(stop, ReceiveLimits{.seconds = 0.5});
  CHECK(session.counters().datagrams_received.get() == 4);
  CHECK(session.counters().unknown_stream.get() == 1);
  CHECK(session.counters().malformed_size.get() == 3);
  CHECK(session.frames_emitted() == 0);
}
