#include "larsel/bench/ingest_bench.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "larsel/bench/bench_stats.hpp"
#include "larsel/daq/emulator.hpp"
#include "larsel/daq/frame_builder.hpp"
#include "larsel/daq/receive_session.hpp"
#include "larsel/daq/wibeth.hpp"

namespace larsel::bench {
namespace {

using Clock = std::chrono::steady_clock;
using daq::wibeth::kFrameBytes;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// Frames of the streams of face 0 with random 14-bit ADCs, period-major.
std::vector<std::byte> random_face_frames(const daq::FaceLayout& layout, std::size_t periods, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint16_t> adc_value(0, daq::wibeth::kAdcMax);
  std::vector<std::byte> frames(periods * layout.streams.size() * kFrameBytes);
  std::array<std::uint16_t, daq::wibeth::kAdcCount> adc{};
  for (std::size_t i = 0; i < periods * layout.streams.size(); ++i) {
    const auto& key = layout.streams[i % layout.streams.size()].key;
    daq::wibeth::Header h;
    h.crate_id = key.crate;
    h.slot_id = key.slot;
    h.stream_id = key.stream;
    for (auto& v : adc) v = adc_value(rng);
    const daq::wibeth::MutableFrameView view(frames.data() + i * kFrameBytes, kFrameBytes);
    daq::wibeth::encode_header(h, view);
    daq::wibeth::pack_adcs(adc, view);
  }
  return frames;
}

/// GB/s of packed frames for one decode pass (header + all ADCs) with `unpack`.
template <typename Unpack>
double decode_pass(const std::vector<std::byte>& frames, std::vector<std::uint16_t>& adc, std::uint64_t& checksum,
                   Unpack unpack) {
  const std::size_t n = frames.size() / kFrameBytes;
  const auto start = Clock::now();
  for (std::size_t f = 0; f < n; ++f) {
    const daq::wibeth::FrameView view(frames.data() + f * kFrameBytes, kFrameBytes);
    checksum += daq::wibeth::decode_header(view).stream_id;
    unpack(view, daq::wibeth::MutableAdcView(adc.data(), adc.size()));
    checksum += adc[f % adc.size()];
  }
  return static_cast<double>(frames.size()) / seconds_since(start) / 1e9;
}

nlohmann::ordered_json bench_decode(const IngestBenchOptions& o, const std::vector<std::byte>& frames) {
  std::vector<std::uint16_t> adc(daq::wibeth::kAdcCount);
  std::vector<std::byte> copy(frames.size());
  std::vector<double> decode_gbps, scalar_gbps, memcpy_gbps;
  std::uint64_t checksum = 0;
  const daq::wibeth::UnpackKernel kernel = daq::wibeth::unpack_kernel(core::selected_kernel_set());
  for (unsigned r = 0; r < o.decode_repeats; ++r) {  // interleaved, so noise hits all three alike
    decode_gbps.push_back(decode_pass(frames, adc, checksum, kernel.run));
    scalar_gbps.push_back(decode_pass(frames, adc, checksum, daq::wibeth::unpack_adcs_scalar));
    const auto start = Clock::now();
    std::memcpy(copy.data(), frames.data(), frames.size());
    checksum += static_cast<std::uint64_t>(copy[r % copy.size()]);
    memcpy_gbps.push_back(static_cast<double>(frames.size()) / seconds_since(start) / 1e9);
  }
  const double decode = quantile(decode_gbps, 0.5);
  return {{"frames_per_pass", frames.size() / kFrameBytes},
          {"bytes_per_pass", frames.size()},
          {"kernel", kernel.name},
          {"decode_GB_per_s", describe(decode_gbps)},
          {"scalar_reference_GB_per_s", describe(scalar_gbps)},
          {"memcpy_GB_per_s", describe(memcpy_gbps)},
          {"decode_to_memcpy_ratio", decode / quantile(memcpy_gbps, 0.5)},
          {"decode_to_scalar_ratio", decode / quantile(scalar_gbps, 0.5)},
          {"median_ns_per_frame", kFrameBytes / decode},
          {"checksum", checksum}};
}

nlohmann::ordered_json bench_builder(const daq::ChannelMap& map, std::vector<std::byte> frames, std::size_t streams) {
  daq::ReceiveCounters counters;
  daq::FramePool pool(128);
  std::uint64_t images = 0;
  const std::uint32_t face = 0;
  daq::FrameBuilder builder(map, std::span(&face, 1), pool, counters, [&images](daq::FrameHandle) { ++images; });
  const std::size_t periods_in_pool = frames.size() / kFrameBytes / streams;
  constexpr std::size_t kPeriodsPerRepeat = 2000;
  std::vector<double> ns_per_datagram;
  std::uint64_t period = 0;
  for (int r = 0; r < 15; ++r) {
    const auto start = Clock::now();
    for (std::size_t k = 0; k < kPeriodsPerRepeat; ++k, ++period) {
      std::byte* base = frames.data() + (period % periods_in_pool) * streams * kFrameBytes;
      const auto now = Clock::now();
      for (std::size_t s = 0; s < streams; ++s) {
        const daq::wibeth::MutableFrameView view(base + s * kFrameBytes, kFrameBytes);
        daq::wibeth::rewrite_time(view, 1'000'000 + period * daq::wibeth::kTicksPerFrame, static_cast<std::uint16_t>(period % 4096));
        builder.on_datagram(view, view.size(), now);
      }
    }
    ns_per_datagram.push_back(seconds_since(start) * 1e9 / static_cast<double>(kPeriodsPerRepeat * streams));
  }
  builder.flush();
  return {{"ns_per_datagram", describe(ns_per_datagram)},
          {"images_built", images},
          {"anomalies", counters.anomalies()}};
}

struct Trial {
  double target_rate = 0;  // datagrams/s asked for (0 = unpaced)
  double sent_rate = 0;    // datagrams/s the emulator achieved
  std::uint64_t sent = 0, received = 0;
  double receiver_cpu_ns_per_datagram = 0;  // CPU time of the receiving thread / datagrams received
  [[nodiscard]] bool lossless() const { return sent > 0 && received == sent; }
};

/// Run the emulator for one trial against a receiver loop running on its
/// own thread; `received()` reports what the receiver has taken so far.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <typename ReceiverLoop, typename Received>
Trial run_trial(const IngestBenchOptions& o, const daq::ChannelMap& map, const std::string& target, double rate,
                std::atomic<bool>& stop_receiver, ReceiverLoop loop, Received received) {
  daq::EmulatorConfig config;
  config.target = target;
  config.faces = 1;
  config.seconds = o.trial_seconds;
  config.max_rate = rate <= 0;
  config.speed = rate > 0 ? rate / (daq::kStreamsPerFace * daq::wibeth::kFrameRateHz) : 1.0;
  daq::NoiseWaveformSource source(daq::NoiseSourceConfig{});
  daq::Emulator emulator(config, map, source);
  double receiver_cpu = 0;
  std::thread receiver([&] {
    const double start = thread_cpu_seconds();
    loop();
    receiver_cpu = thread_cpu_seconds() - start;
  });
  std::atomic<bool> never{false};
  emulator.run(never);
  // Drain: wait until everything arrived or nothing has moved for 200 ms.
  std::uint64_t last = received(), still = 0;
  while (received() < emulator.stats().datagrams_sent && still < 20) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const std::uint64_t now = received();
    still = now == last ? still + 1 : 0;
    last = now;
  }
  stop_receiver = true;
  receiver.join();
  const auto& s = emulator.stats();
  const std::uint64_t got = received();
  return {rate, static_cast<double>(s.datagrams_sent) / s.seconds, s.datagrams_sent, got,
          got > 0 ? receiver_cpu * 1e9 / static_cast<double>(got) : 0.0};
}

Trial trial_bare(const IngestBenchOptions& o, const daq::ChannelMap& map, double rate) {
  daq::UdpReceiver socket("127.0.0.1:0", o.socket_buffer_bytes);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> count{0};
  auto loop = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t n = socket.receive_batch(std::chrono::milliseconds(2));
      std::uint64_t bytes = 0;
      for (std::size_t i = 0; i < n; ++i) bytes += socket.datagram(i).size();  // touch the lengths, as any receiver must
      count.store(count.load(std::memory_order_relaxed) + n + (bytes == 1), std::memory_order_relaxed);
    }
  };
  return run_trial(o, map, socket.local_address(), rate, stop, loop, [&] { return count.load(); });
}

Trial trial_larsel(const IngestBenchOptions& o, const daq::ChannelMap& map, double rate) {
  daq::ReceiveConfig config;
  config.listen = "127.0.0.1:0";
  config.socket_buffer_bytes = o.socket_buffer_bytes;
  daq::ReceiveSession session(config, map, [](daq::FrameHandle) {});
  std::atomic<bool> stop{false};
  auto loop = [&] { session.run(stop, {}); };
  return run_trial(o, map, session.local_address(), rate, stop, loop,
                   [&] { return session.counters().datagrams_accepted.get(); });
}

nlohmann::ordered_json trial_json(const Trial& t) {
  return {{"target_rate", t.target_rate}, {"sent_rate", t.sent_rate}, {"sent", t.sent},
          {"received", t.received}, {"lossless", t.lossless()},
          {"receiver_cpu_ns_per_datagram", t.receiver_cpu_ns_per_datagram}};
}

/// Trials of one receiver kind, and the best lossless rate among them.
struct Search {
  using Runner = Trial (*)(const IngestBenchOptions&, const daq::ChannelMap&, double);
  explicit Search(Runner runner) : run(runner) {}
  Runner run;
  nlohmann::ordered_json trials = nlohmann::ordered_json::array();
  std::vector<double> cpu_ns;  // per lossless trial
  double best = 0;             // highest achieved rate of a lossless trial
  double lowest_lossy = 0;     // lowest asked rate of a lossy trial above `best`
  bool lossless_at_top = false;

  void record(const char* name, const Trial& t) {
    spdlog::info("bench ingest: {:6} asked {:8.0f}/s sent {:8.0f}/s  {} ({}/{})", name, t.target_rate, t.sent_rate,
                 t.lossless() ? "lossless" : "LOSS", t.received, t.sent);
    trials.push_back(trial_json(t));
    if (t.lossless()) {
      best = std::max(best, t.sent_rate);
      cpu_ns.push_back(t.receiver_cpu_ns_per_datagram);
    } else if (t.target_rate > best && (lowest_lossy == 0 || t.target_rate < lowest_lossy)) {
      lowest_lossy = t.target_rate;
    }
  }
};

nlohmann::ordered_json search_json(const Search& s) {
  return {{"max_lossless_rate", s.best},
          {"receiver_cpu_ns_per_datagram", describe(s.cpu_ns)},
          {"trials", s.trials}};
}

nlohmann::ordered_json bench_loopback(const IngestBenchOptions& o, const daq::ChannelMap& map) {
  const double top = trial_bare(o, map, 0).sent_rate;
  spdlog::info("bench ingest: unpaced emulator reaches {:.0f} datagrams/s", top);
  Search bare(trial_bare), ours(trial_larsel);
  // Coarse: a geometric ladder from top/4 to top, both receivers at the same
  // rates, interleaved so that machine noise hits both alike.
  for (unsigned i = 0; i < o.rate_steps; ++i) {
    const double rate = top * std::pow(0.25, 1.0 - static_cast<double>(i) / std::max(1u, o.rate_steps - 1));
    bare.record("bare", bare.run(o, map, rate));
    ours.record("larsel", ours.run(o, map, rate));
    if (i + 1 == o.rate_steps) {
      bare.lossless_at_top = bare.trials.back()["lossless"].get<bool>();
      ours.lossless_at_top = ours.trials.back()["lossless"].get<bool>();
    }
  }
  // Fine: bisect between each receiver's best lossless and lowest lossy rate.
  for (unsigned step = 0; step < o.refine_steps; ++step) {
    for (auto* search : {&bare, &ours}) {
      if (search->lowest_lossy == 0 || search->best == 0) continue;
      search->record(search == &bare ? "bare" : "larsel", search->run(o, map, 0.5 * (search->best + search->lowest_lossy)));
    }
  }
  const double cpu_bare = quantile(bare.cpu_ns, 0.5), cpu_ours = quantile(ours.cpu_ns, 0.5);
  return {{"trial_seconds", o.trial_seconds},
          {"socket_buffer_bytes", o.socket_buffer_bytes},
          {"unpaced_emulator_rate", top},
          {"bare_recvmmsg_max_lossless_rate", bare.best},
          {"larsel_receiver_max_lossless_rate", ours.best},
          {"ratio", bare.best > 0 ? ours.best / bare.best : 0.0},
          // Lossless at the unpaced rate means the sender, not that receiver, set its figure.
          {"bare_lossless_at_unpaced_rate", bare.lossless_at_top},
          {"larsel_lossless_at_unpaced_rate", ours.lossless_at_top},
          {"receiver_cpu_ratio_bare_over_larsel", cpu_ours > 0 ? cpu_bare / cpu_ours : 0.0},
          {"bare_recvmmsg", search_json(bare)},
          {"larsel_receiver", search_json(ours)}};
}

}  // namespace

nlohmann::ordered_json run_ingest_bench(const IngestBenchOptions& o) {
  const daq::ChannelMap map = daq::ChannelMap::emulated(1);
  const daq::FaceLayout layout = map.face_layout(0);
  const auto frames = random_face_frames(layout, std::max<std::size_t>(1, o.decode_frames / layout.streams.size()), 7);
  nlohmann::ordered_json j;
  j["benchmark"] = "ingest";
  j["decode"] = bench_decode(o, frames);
  j["builder"] = bench_builder(map, frames, layout.streams.size());
  if (!o.skip_loopback) j["loopback"] = bench_loopback(o, map);
  return j;
}

}  // namespace larsel::bench
