#include "larsel/daq/emulator.hpp"

#include <sys/prctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "larsel/daq/address.hpp"
#include "larsel/daq/errors.hpp"
#include "larsel/daq/rate_limiter.hpp"
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
  std::vector<const std::byte*> held;           // per stream: datagram delayed by a reorder
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
  if (!(p >= 0.0 && p <= 1.0)) throw ConfigError(fmt::format("emulator: --{} must be a probability in [0, 1], got {}", name, p));
}

void validate(const EmulatorConfig& c) {
  if (c.faces == 0 || c.faces > 64) throw ConfigError(fmt::format("emulator: faces must be 1-64, got {}", c.faces));
  if (!c.max_rate && !(c.speed > 0 && c.speed <= 1000)) throw ConfigError(fmt::format("emulator: speed must be in (0, 1000], got {}", c.speed));
  if (c.pool_periods < 2) throw ConfigError("emulator: pool_periods must be at least 2 (reordering holds one period)");
  if (c.seconds < 0) throw ConfigError("emulator: seconds must not be negative");
  check_probability(c.faults.drop, "drop");
  check_probability(c.faults.reorder, "reorder");
  check_probability(c.faults.duplicate, "duplicate");
  check_probability(c.faults.corrupt, "corrupt");
  const double total = c.faults.drop + c.faults.reorder + c.faults.duplicate + c.faults.corrupt;
  if (total > 1.0) throw ConfigError(fmt::format("emulator: fault probabilities add up to {} > 1", total));
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
    : config_(config), rng_(config.seed), impl_(std::make_unique<Impl>()) {
  validate(config_);
  const auto faces = map.faces();
  if (faces.size() < config_.faces) {
    throw ConfigError(fmt::format("emulator: {} faces requested but the channel map has {}", config_.faces, faces.size()));
  }
  impl_->target = parse_udp_endpoint(config_.target);
  preload(map, source);
  impl_->socket.open(impl_->target.protocol());
  const int size = static_cast<int>(config_.socket_buffer_bytes);
  ::setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  impl_->held.assign(streams_.size(), nullptr);
  impl_->corrupt_scratch.resize(streams_.size() * Impl::kScratchBytes);
  impl_->messages.reserve(3 * streams_.size());
  impl_->message_stream.reserve(3 * streams_.size());
  impl_->iovecs.reserve(3 * streams_.size());
}

Emulator::~Emulator() = default;

void Emulator::preload(const ChannelMap& map, WaveformSource& source) {
  const auto faces = map.faces();
  std::vector<FaceLayout> layouts;
  for (unsigned f = 0; f < config_.faces; ++f) {
    layouts.push_back(map.face_layout(faces[f]));
    for (const auto& s : layouts.back().streams) streams_.push_back(s.key);
  }
  pool_.resize(std::size_t{config_.pool_periods} * streams_.size() * kFrameBytes);
  auto waves = std::make_unique<FaceWaveforms>();
  std::byte* out = pool_.data();
  for (unsigned p = 0; p < config_.pool_periods; ++p) {
    for (const FaceLayout& layout : layouts) {
      source.generate(layout.face, p, *waves);
      for (std::size_t s = 0; s < layout.streams.size(); ++s, out += kFrameBytes) {
        encode_stream(map, layout.streams[s].key, s, *waves, std::span<std::byte, kFrameBytes>(out, kFrameBytes));
      }
    }
  }
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
  std::byte* base = pool_.data() + (period % config_.pool_periods) * streams_.size() * kFrameBytes;
  const FaultConfig& f = config_.faults;
  const bool inject = f.drop + f.reorder + f.duplicate + f.corrupt > 0;
  const bool last_period = config_.periods != 0 && period + 1 == config_.periods;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Impl& io = *impl_;
  io.clear();
  for (std::uint32_t i = 0; i < streams_.size(); ++i) {
    std::byte* datagram = base + std::size_t{i} * kFrameBytes;
    wibeth::rewrite_time(std::span<std::byte, kFrameBytes>(datagram, kFrameBytes), timestamp, seq_id);
    if (io.held[i] != nullptr) {  // the partner of a reorder goes first, untouched
      io.add(datagram, kFrameBytes, i);
      io.add(io.held[i], kFrameBytes, i);
      io.held[i] = nullptr;
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
      io.held[i] = datagram;
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
  std::optional<RateLimiter> limiter;
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
  // A reorder whose partner was never sent goes out in order after all:
  // take it out of the log so the log stays exactly what the receiver sees.
  impl_->clear();
  for (std::uint32_t i = 0; i < streams_.size(); ++i) {
    if (impl_->held[i] == nullptr) continue;
    impl_->add(impl_->held[i], kFrameBytes, i);
    impl_->held[i] = nullptr;
    std::erase_if(fault_log_, [&](const InjectedFault& x) {
      return x.kind == FaultKind::reorder && x.stream == i && x.period + 1 == period;
    });
    --stats_.reordered;
  }
  flush_batch(period);
  stats_.periods_sent = period;
  stats_.rate_limiter_resets = limiter ? limiter->resets() : 0;
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace larsel::daq
