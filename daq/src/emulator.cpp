#include "larsel/daq/emulator.hpp"

#include <sys/prctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "address.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/core/rate_limiter.hpp"
#include "larsel/daq/wibeth.hpp"

namespace larsel::daq {

using wibeth::kFrameBytes;

const char* fault_name(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::drop: return "drop";
    case FaultKind::reorder: return "reorder";
    case FaultKind::duplicate: return "duplicate";
    case FaultKind::corrupt: return "corrupt";
    case FaultKind::send_error: return "send_error";
  }
  return "?";
}

struct Emulator::Impl {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket socket{io};
  boost::asio::ip::udp::endpoint target;
  std::vector<mmsghdr> messages;
  std::vector<iovec> iovecs;
  std::vector<std::uint32_t> message_stream;    // stream index of each queued datagram
  std::vector<std::uint8_t> holding;            // per stream: a datagram is delayed by a reorder
  std::vector<std::byte> held_copy;             // per stream: its bytes, since the pool entry may be resent meanwhile
  [[nodiscard]] const std::byte* held(std::size_t stream) const { return held_copy.data() + stream * kFrameBytes; }
  std::vector<std::byte> corrupt_scratch;       // per stream: one damaged copy (+8 bytes for oversize)
  static constexpr std::size_t kScratchBytes = kFrameBytes + 8;

  void clear() {
    messages.clear();
    iovecs.clear();
    message_stream.clear();
  }
  void add(const std::byte* data, std::size_t size, std::uint32_t stream) {
    iovecs.push_back({const_cast<std::byte*>(data), size});
    message_stream.push_back(stream);
    mmsghdr m{};
    m.msg_hdr.msg_name = target.data();
    m.msg_hdr.msg_namelen = static_cast<socklen_t>(target.size());
    messages.push_back(m);
  }
};

namespace {

std::uint64_t wall_clock_ticks() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  return static_cast<std::uint64_t>(ns) / 16;  // 62.5 MHz = 16 ns per tick
}

void check_probability(double p, const char* name) {
  if (!(p >= 0.0 && p <= 1.0)) throw core::ConfigError(fmt::format("emulator: --{} must be a probability in [0, 1], got {}", name, p));
}

void validate(const EmulatorConfig& c) {
  if (c.faces == 0 || c.faces > 64) throw core::ConfigError(fmt::format("emulator: faces must be 1-64, got {}", c.faces));
  if (!c.max_rate && !(c.speed > 0 && c.speed <= 1000)) throw core::ConfigError(fmt::format("emulator: speed must be in (0, 1000], got {}", c.speed));
  if (c.pool_periods < 2) throw core::ConfigError("emulator: pool_periods must be at least 2 (reordering holds one period)");
  if (c.seconds < 0) throw core::ConfigError("emulator: seconds must not be negative");
  if (c.signal_rate_hz < 0 || c.burst.rate_hz < 0 || c.burst.every_s < 0 || c.burst.length_s < 0) {
    throw core::ConfigError("emulator: signal rates and burst times must not be negative");
  }
  if (c.signal_rate_hz * wibeth::kTicksPerFrame / wibeth::kClockHz > 1 || c.burst.rate_hz * wibeth::kTicksPerFrame / wibeth::kClockHz > 1) {
    throw core::ConfigError("emulator: a signal rate above 30,517 Hz would need more than one signal per frame period");
  }
  if (c.signal_pool_periods == 0) throw core::ConfigError("emulator: signal_pool_periods must be at least 1");
  check_probability(c.faults.drop, "drop");
  check_probability(c.faults.reorder, "reorder");
  check_probability(c.faults.duplicate, "duplicate");
  check_probability(c.faults.corrupt, "corrupt");
  const double total = c.faults.drop + c.faults.reorder + c.faults.duplicate + c.faults.corrupt;
  if (total > 1.0) throw core::ConfigError(fmt::format("emulator: fault probabilities add up to {} > 1", total));
}

/// Encode one stream's frame from the face waveforms (headers get final
/// timestamps at send time).
void encode_stream(const ChannelMap& map, StreamKey key, std::size_t stream_in_face, const FaceWaveforms& wave,
                   std::span<std::byte, kFrameBytes> out) {
  std::array<std::uint16_t, wibeth::kAdcCount> adc{};
  std::size_t induction_index = 0;
  for (unsigned c = 0; c < wibeth::kChannels; ++c) {
    const ChannelInfo* info = map.find(key, c);
    const std::uint16_t* source = nullptr;
    if (info != nullptr && info->plane == Plane::X) {
      source = wave.collection.data() + std::size_t{info->wire} * Frame::kTicks;
    } else {  // induction (or an unmapped channel): next induction waveform of this stream
      const std::size_t row = stream_in_face * FaceWaveforms::kInductionPerStream +
                              std::min(induction_index++, FaceWaveforms::kInductionPerStream - 1);
      source = wave.induction.data() + row * Frame::kTicks;
    }
    for (std::size_t t = 0; t < wibeth::kSamples; ++t) adc[t * wibeth::kChannels + c] = source[t];
  }
  wibeth::Header header;
  header.crate_id = key.crate;
  header.slot_id = key.slot;
  header.stream_id = key.stream;
  wibeth::encode_header(header, out);
  wibeth::pack_adcs(adc, out);
}

}  // namespace

Emulator::Emulator(const EmulatorConfig& config, const ChannelMap& map, WaveformSource& source)
    : config_(config), injection_rng_(config.seed ^ 0x5349474E414CULL), rng_(config.seed), impl_(std::make_unique<Impl>()) {
  validate(config_);
  const auto faces = map.faces();
  if (faces.size() < config_.faces) {
    throw core::ConfigError(fmt::format("emulator: {} faces requested but the channel map has {}", config_.faces, faces.size()));
  }
  impl_->target = parse_udp_endpoint(config_.target);
  preload(map, source);
  impl_->socket.open(impl_->target.protocol());
  const int size = static_cast<int>(config_.socket_buffer_bytes);
  ::setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  impl_->holding.assign(streams_.size(), 0);
  impl_->held_copy.resize(streams_.size() * kFrameBytes);
  impl_->corrupt_scratch.resize(streams_.size() * Impl::kScratchBytes);
  impl_->messages.reserve(3 * streams_.size());
  impl_->message_stream.reserve(3 * streams_.size());
  impl_->iovecs.reserve(3 * streams_.size());
}

Emulator::~Emulator() = default;

namespace {

bool injects_signal(const EmulatorConfig& c) { return c.signal_rate_hz > 0 || (c.burst.every_s > 0 && c.burst.rate_hz > 0); }

/// Encode `entries` periods of every face into `pool` ([entry][face][stream][7200]).
void encode_pool(const ChannelMap& map, const std::vector<FaceLayout>& layouts, unsigned entries, std::vector<std::byte>& pool,
                 const std::function<void(std::size_t face_index, unsigned entry, FaceWaveforms&)>& generate) {
  pool.resize(std::size_t{entries} * layouts.size() * kStreamsPerFace * kFrameBytes);
  auto waves = std::make_unique<FaceWaveforms>();
  std::byte* out = pool.data();
  for (unsigned e = 0; e < entries; ++e) {
    for (std::size_t f = 0; f < layouts.size(); ++f) {
      generate(f, e, *waves);
      for (std::size_t s = 0; s < layouts[f].streams.size(); ++s, out += kFrameBytes) {
        encode_stream(map, layouts[f].streams[s].key, s, *waves, std::span<std::byte, kFrameBytes>(out, kFrameBytes));
      }
    }
  }
}

}  // namespace

std::vector<std::byte> encode_face_periods(const ChannelMap& map, std::uint32_t face, unsigned periods,
                                           const std::function<void(unsigned period, FaceWaveforms&)>& generate) {
  std::vector<std::byte> datagrams;
  encode_pool(map, {map.face_layout(face)}, periods, datagrams, [&](std::size_t, unsigned p, FaceWaveforms& w) { generate(p, w); });
  return datagrams;
}

void Emulator::preload(const ChannelMap& map, WaveformSource& source) {
  const auto faces = map.faces();
  std::vector<FaceLayout> layouts;
  for (unsigned f = 0; f < config_.faces; ++f) {
    layouts.push_back(map.face_layout(faces[f]));
    for (const auto& s : layouts.back().streams) streams_.push_back(s.key);
  }
  encode_pool(map, layouts, config_.pool_periods, pool_,
              [&](std::size_t f, unsigned p, FaceWaveforms& w) { source.generate(layouts[f].face, p, w); });
  face_base_.resize(layouts.size());
  for (const FaceLayout& layout : layouts) face_ids_.push_back(layout.face);
  face_signal_.assign(layouts.size(), -1);
  if (!injects_signal(config_)) return;
  if (!source.has_signal()) throw core::ConfigError("emulator: signal injection needs the physics waveform source");
  signal_truth_.resize(std::size_t{config_.signal_pool_periods} * layouts.size());
  encode_pool(map, layouts, config_.signal_pool_periods, signal_pool_, [&](std::size_t f, unsigned e, FaceWaveforms& w) {
    source.generate_signal(layouts[f].face, e, w, signal_truth_[e * layouts.size() + f]);
  });
  if (!config_.truth_file.empty()) {
    truth_out_ = std::make_unique<std::ofstream>(config_.truth_file);
    if (!*truth_out_) throw std::runtime_error(fmt::format("{}: cannot open the truth file for writing", config_.truth_file));
  }
}

double Emulator::signal_rate_at(std::uint64_t period) const noexcept {
  const BurstConfig& b = config_.burst;
  const double t = static_cast<double>(period) * wibeth::kTicksPerFrame / wibeth::kClockHz;  // data time, s
  if (b.every_s > 0 && std::fmod(t, b.every_s) < b.length_s) return b.rate_hz;
  return config_.signal_rate_hz;
}

/// Per face, the pool entry this period sends: background (looped) or, at the
/// configured rate in data time, the next signal entry.
void Emulator::choose_pool_entries(std::uint64_t period) {
  const std::size_t entry_bytes = streams_.size() * kFrameBytes;  // one period of every face
  const double probability = signal_pool_.empty() ? 0.0 : signal_rate_at(period) * wibeth::kTicksPerFrame / wibeth::kClockHz;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (std::size_t f = 0; f < face_base_.size(); ++f) {
    face_signal_[f] = -1;
    face_base_[f] = pool_.data() + (period % config_.pool_periods) * entry_bytes;
    if (probability > 0 && uniform(injection_rng_) < probability) {
      const std::uint64_t entry = next_signal_++ % config_.signal_pool_periods;
      face_signal_[f] = static_cast<std::int64_t>(entry);
      face_base_[f] = signal_pool_.data() + entry * entry_bytes;
    }
  }
}

void Emulator::write_truth(std::uint64_t period, std::uint64_t timestamp, std::size_t face, const sim::FrameTruth& t) {
  ++stats_.signal_periods;
  if (!truth_out_) return;
  truth_line_.clear();  // reused: no allocation per signal period
  fmt::format_to(std::back_inserter(truth_line_),
      "{{\"timestamp\":{},\"face\":{},\"period\":{},\"label\":\"signal\",\"nu_energy_mev\":{:.4f},"
      "\"electron_energy_mev\":{:.4f},\"visible_energy_mev\":{:.4f},\"vertex_wire\":{:.2f},\"vertex_tick\":{:.2f},"
      "\"vertex_drift_cm\":{:.2f}}}\n",
      timestamp, face_ids_[face], period, t.nu_energy_mev, t.electron_energy_mev, t.visible_energy_mev, t.vertex_wire,
      t.vertex_tick, t.vertex_drift_cm);
  truth_out_->write(truth_line_.data(), static_cast<std::streamsize>(truth_line_.size()));
}

namespace {

/// Damage a copy of `frame` so that a validating receiver must reject it.
/// Returns the length to send. Modes: truncated, oversized, bad DAQEth
/// version, wrong det_id, invalid stream_id bits.
std::size_t corrupt_copy(const std::byte* frame, std::byte* scratch, std::mt19937_64& rng) {
  std::memcpy(scratch, frame, kFrameBytes);
  const std::uint64_t r = rng();
  auto view = std::span<std::byte, kFrameBytes>(scratch, kFrameBytes);
  wibeth::Header h = wibeth::decode_header(view);
  switch (r % 5) {
    case 0: return wibeth::kHeaderBytes + (r >> 8) % (kFrameBytes - wibeth::kHeaderBytes);  // 32-7199 bytes
    case 1:
      std::memset(scratch + kFrameBytes, 0, 8);
      return kFrameBytes + 1 + (r >> 8) % 8;  // 7201-7208 bytes
    case 2: h.daq_version = static_cast<std::uint8_t>(1 + (r >> 8) % 63); break;
    case 3: h.det_id = static_cast<std::uint8_t>((wibeth::kDetIdHdTpc + 1 + (r >> 8) % 62) % 64); break;
    default: h.stream_id |= 0x80; break;
  }
  wibeth::encode_header(h, view);
  return kFrameBytes;
}

/// One uniform draw u in [0, 1) picks at most one fault per datagram.
std::optional<FaultKind> choose_fault(const FaultConfig& f, double u) {
  if ((u -= f.drop) < 0) return FaultKind::drop;
  if ((u -= f.duplicate) < 0) return FaultKind::duplicate;
  if ((u -= f.reorder) < 0) return FaultKind::reorder;
  if ((u -= f.corrupt) < 0) return FaultKind::corrupt;
  return std::nullopt;
}

}  // namespace

void Emulator::send_period(std::uint64_t period) {
  const std::uint64_t timestamp = stats_.first_timestamp + period * wibeth::kTicksPerFrame;
  const auto seq_id = static_cast<std::uint16_t>(period % wibeth::kSeqIdModulus);
  choose_pool_entries(period);
  for (std::size_t f = 0; f < face_signal_.size(); ++f) {
    if (face_signal_[f] >= 0) {
      write_truth(period, timestamp, f,
                  signal_truth_[static_cast<std::size_t>(face_signal_[f]) * face_signal_.size() + f]);
    }
  }
  const FaultConfig& f = config_.faults;
  const bool inject = f.drop + f.reorder + f.duplicate + f.corrupt > 0;
  const bool last_period = config_.periods != 0 && period + 1 == config_.periods;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Impl& io = *impl_;
  io.clear();
  for (std::uint32_t i = 0; i < streams_.size(); ++i) {
    std::byte* datagram = face_base_[i / kStreamsPerFace] + std::size_t{i} * kFrameBytes;
    wibeth::rewrite_time(std::span<std::byte, kFrameBytes>(datagram, kFrameBytes), timestamp, seq_id);
    if (io.holding[i]) {  // the partner of a reorder goes first, untouched
      io.add(datagram, kFrameBytes, i);
      io.add(io.held(i), kFrameBytes, i);
      io.holding[i] = 0;
      continue;
    }
    std::optional<FaultKind> fault = inject ? choose_fault(f, uniform(rng_)) : std::nullopt;
    if (fault == FaultKind::reorder && last_period) fault.reset();  // no partner would follow
    if (fault) log_fault({period, i, *fault});
    if (fault == FaultKind::drop) {
      ++stats_.dropped;
    } else if (fault == FaultKind::duplicate) {
      ++stats_.duplicated;
      io.add(datagram, kFrameBytes, i);
      io.add(datagram, kFrameBytes, i);
    } else if (fault == FaultKind::reorder) {
      ++stats_.reordered;
      std::memcpy(io.held_copy.data() + std::size_t{i} * kFrameBytes, datagram, kFrameBytes);  // a signal entry may be drawn again next period
      io.holding[i] = 1;
    } else if (fault == FaultKind::corrupt) {
      ++stats_.corrupted;
      std::byte* scratch = io.corrupt_scratch.data() + std::size_t{i} * Impl::kScratchBytes;
      io.add(scratch, corrupt_copy(datagram, scratch, rng_), i);
    } else {
      io.add(datagram, kFrameBytes, i);
    }
  }
  flush_batch(period);
}

void Emulator::log_fault(const InjectedFault& fault) {
  if (fault_log_.size() < kMaxFaultLog) {
    fault_log_.push_back(fault);
  } else {
    fault_log_complete_ = false;  // the counts in stats() stay exact
  }
}

void Emulator::flush_batch(std::uint64_t period) {
  Impl& io = *impl_;
  for (std::size_t i = 0; i < io.messages.size(); ++i) {
    io.messages[i].msg_hdr.msg_iov = &io.iovecs[i];
    io.messages[i].msg_hdr.msg_iovlen = 1;
  }
  std::size_t sent = 0;
  while (sent < io.messages.size()) {
    const int n = ::sendmmsg(io.socket.native_handle(), io.messages.data() + sent,
                             static_cast<unsigned>(io.messages.size() - sent), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // e.g. ENOBUFS: this datagram is skipped, not retried, and logged so the
      // fault log still says exactly what the receiver can have seen.
      ++stats_.send_errors;
      log_fault({period, io.message_stream[sent], FaultKind::send_error});
      ++sent;
      continue;
    }
    for (int k = 0; k < n; ++k) stats_.bytes_sent += io.iovecs[sent + k].iov_len;
    stats_.datagrams_sent += static_cast<std::uint64_t>(n);
    sent += static_cast<std::size_t>(n);
  }
}

void Emulator::run(const std::atomic<bool>& stop) {
  ::prctl(PR_SET_TIMERSLACK, 1UL);  // wake from sleeps within ~1 ns of slack, not the default 50 us
  stats_.first_timestamp = config_.first_timestamp.value_or(wall_clock_ticks());
  std::optional<core::RateLimiter> limiter;
  if (!config_.max_rate) limiter.emplace(wibeth::kFrameRateHz * config_.speed);
  const auto start = std::chrono::steady_clock::now();
  const auto time_limit = std::chrono::duration<double>(config_.seconds);
  std::uint64_t period = 0;
  for (;; ++period) {
    if (stop.load(std::memory_order_relaxed)) break;
    if (config_.periods != 0 && period >= config_.periods) break;
    if (config_.seconds > 0 && std::chrono::steady_clock::now() - start >= time_limit) break;
    send_period(period);
    if (limiter) limiter->limit();
  }
  stats_.paced_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A reorder whose partner was never sent goes out in order after all:
  // take it out of the log so the log stays exactly what the receiver sees.
  impl_->clear();
  for (std::uint32_t i = 0; i < streams_.size(); ++i) {
    if (!impl_->holding[i]) continue;
    impl_->add(impl_->held(i), kFrameBytes, i);
    impl_->holding[i] = 0;
    std::erase_if(fault_log_, [&](const InjectedFault& x) {
      return x.kind == FaultKind::reorder && x.stream == i && x.period + 1 == period;
    });
    --stats_.reordered;
  }
  flush_batch(period);
  stats_.periods_sent = period;
  stats_.rate_limiter_resets = limiter ? limiter->resets() : 0;
  stats_.rate_limiter_lost_seconds = limiter ? std::chrono::duration<double>(limiter->lost()).count() : 0.0;
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (truth_out_) truth_out_->flush();
}

}  // namespace larsel::daq
