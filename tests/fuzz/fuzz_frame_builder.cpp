// Fuzz harness: the frame builder fed a sequence of datagrams, as the UDP receive loop
// (daq::ReceiveSession::run) feeds it: on_datagram(bytes, true length, arrival) for each datagram
// and poll_timeouts(now) between batches, flush() at the end. The input is a program:
//   a few setup bytes (faces, reorder window, pool size, timeout, frames held downstream), then
//   operations: well-formed datagrams of the face's streams with header mutations (version, det_id,
//   stream_id bits, unknown crates, impossible or off-grid timestamps, seq_id jumps, period jumps
//   forwards and back), raw datagrams of any length (truncated, oversized), clock advances, new
//   time bases (a restarted source) and the release of frames held downstream.
// Invariants: every datagram ends in exactly one outcome counter; images leave each face in
// timestamp order (until a resync moves its timeline); the counters account for every image, every
// accepted datagram and every lost stream frame; every frame returns to the pool.
#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <vector>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "larsel/daq/channel_map.hpp"
#include "larsel/daq/frame_builder.hpp"
#include "larsel/daq/udp_receiver.hpp"
#include "larsel/daq/wibeth.hpp"

namespace larsel::fuzz {
namespace {

namespace wibeth = daq::wibeth;
using Clock = daq::FrameBuilder::Clock;
using Datagram = std::array<std::byte, daq::UdpReceiver::kBufferBytes>;

/// The datagram outcomes: each datagram ends in exactly one of them (docs/readout.md).
std::uint64_t outcome_sum(const daq::ReceiveCounters& c) {
  return c.datagrams_accepted.get() + c.malformed_size.get() + c.malformed_header.get() + c.unknown_stream.get() +
         c.timestamp_misaligned.get() + c.timestamp_jump.get() + c.late.get() + c.duplicate.get() +
         c.pool_exhausted.get();
}

/// Frames per face beyond the window, at most.
constexpr std::size_t kMaxPoolExtra = 16;
constexpr std::size_t kLargestPool = 2 * (daq::kMaxWindowFrames + kMaxPoolExtra);

struct Setup {
  std::vector<std::uint32_t> faces;
  daq::FrameBuilderConfig builder;
  std::size_t pool_frames = 0;
  std::size_t held_limit = 0;  // frames the "downstream" keeps before releasing the oldest

  explicit Setup(FuzzReader& in) {
    faces = in.flag() ? std::vector<std::uint32_t>{0, 1} : std::vector<std::uint32_t>{in.byte() & 1u};
    builder.window_frames = static_cast<unsigned>(in.in_range(2, daq::kMaxWindowFrames));
    builder.incomplete_timeout = std::chrono::microseconds(in.in_range(1, 20'000));
    builder.kernels = core::KernelSet::baseline;  // the kernels are checked against each other in fuzz_wibeth
    // ReceiveSession's rule: more frames per face than the window.
    pool_frames = faces.size() * (builder.window_frames + in.in_range(1, kMaxPoolExtra));
    held_limit = in.in_range(0, 24);
  }
};

class BuilderSession {
 public:
  /// `pool` holds kLargestPool frames (allocated once per process: 10 MB); all but setup.pool_frames are
  /// taken out for the session, which is the pool the builder sees.
  BuilderSession(const Setup& setup, const daq::ChannelMap& map, daq::FramePool& pool)
      : setup_(setup), pool_(pool),
        builder_(map, setup.faces, pool_, counters_, [this](daq::FrameHandle frame) { on_frame(std::move(frame)); },
                 setup.builder) {
    for (std::size_t i = setup.pool_frames; i < pool_.capacity(); ++i) reserved_.push_back(pool_.acquire());
    for (const std::uint32_t face : setup.faces) {
      for (const auto& stream : map.face_layout(face).streams) streams_.push_back(stream.key);
    }
    wibeth::Header header;
    wibeth::encode_header(header, template_);
    std::array<std::uint16_t, wibeth::kAdcCount> adc{};
    for (std::size_t i = 0; i < adc.size(); ++i) adc[i] = static_cast<std::uint16_t>((i * 2654435761u) & wibeth::kAdcMax);
    wibeth::pack_adcs(adc, template_);
  }

  void run(FuzzReader& in) {
    while (!in.empty()) {
      switch (in.byte() % 8) {
        case 0: case 1: case 2: case 3: send_stream_datagram(in); break;
        case 4: send_raw_datagram(in); break;
        case 5: advance_clock(in); break;
        case 6: held_.clear(); break;
        default: base_timestamp_ = in.integer<std::uint64_t>() & ((std::uint64_t{1} << 63) - 1); break;
      }
    }
    builder_.flush();
    held_.clear();
    check_final_accounting();
  }

 private:
  void send_stream_datagram(FuzzReader& in) {
    const daq::StreamKey key = streams_[in.byte() % streams_.size()];
    period_ += static_cast<std::int8_t>(in.byte()) / 16;  // mostly small steps, both ways
    const std::uint8_t mutations = in.flag() ? in.byte() : 0;
    wibeth::Header header;
    header.crate_id = key.crate, header.slot_id = key.slot, header.stream_id = key.stream;
    header.timestamp = base_timestamp_ + static_cast<std::uint64_t>(period_) * wibeth::kTicksPerFrame;
    header.seq_id = static_cast<std::uint16_t>(static_cast<std::uint64_t>(period_) % wibeth::kSeqIdModulus);
    if (mutations & 1) header.daq_version = static_cast<std::uint8_t>(1 + in.byte() % 63);
    if (mutations & 2) header.det_id = static_cast<std::uint8_t>(in.byte() & 63);
    if (mutations & 4) header.stream_id = in.byte();
    if (mutations & 8) header.crate_id = static_cast<std::uint16_t>(in.integer<std::uint16_t>() & 1023);
    if (mutations & 16) header.timestamp = in.integer<std::uint64_t>();
    if (mutations & 32) header.timestamp += in.in_range(1, wibeth::kTicksPerFrame - 1);  // off the grid
    if (mutations & 64) header.seq_id = static_cast<std::uint16_t>(in.integer<std::uint16_t>() % wibeth::kSeqIdModulus);
    Datagram datagram{};
    std::copy(template_.begin(), template_.end(), datagram.begin());
    wibeth::encode_header(header, wibeth::MutableFrameView(datagram.data(), wibeth::kFrameBytes));
    if (mutations & 128) {  // a few payload bytes from the input
      for (int k = in.byte() % 8; k > 0; --k) {
        const std::size_t at = wibeth::kHeaderBytes + in.in_range(0, wibeth::kFrameBytes - wibeth::kHeaderBytes - 1);
        datagram[at] = std::byte{in.byte()};
      }
    }
    deliver(datagram, wibeth::kFrameBytes);
  }

  void send_raw_datagram(FuzzReader& in) {
    const std::size_t length_on_wire = in.in_range(0, wibeth::kFrameBytes + 200);
    Datagram datagram{};
    const auto bytes = in.bytes(std::min(length_on_wire, datagram.size()));
    std::memcpy(datagram.data(), bytes.data(), bytes.size());
    deliver(datagram, length_on_wire);
  }

  /// What UdpReceiver hands over: the buffer holds at most kBufferBytes, the length is the true one.
  void deliver(const Datagram& datagram, std::size_t length_on_wire) {
    const std::size_t held = std::min(length_on_wire, datagram.size());
    const std::uint64_t before = counters_.datagrams_received.get();
    builder_.on_datagram(std::span(datagram.data(), held), length_on_wire, now_);
    require(counters_.datagrams_received.get() == before + 1, "on_datagram did not count one datagram received");
    require(outcome_sum(counters_) == counters_.datagrams_received.get(),
            "a datagram ended in no outcome counter or in more than one");
  }

  void advance_clock(FuzzReader& in) {
    now_ += std::chrono::microseconds(in.in_range(0, 200'000));
    builder_.poll_timeouts(now_);
  }

  void on_frame(daq::FrameHandle frame) {
    require(frame != nullptr, "the sink received an empty frame handle");
    require((frame->stream_present_mask & ~daq::Frame::kAllStreams) == 0, "stream_present_mask has bits beyond 20 streams");
    if (counters_.face_resyncs.get() != resyncs_seen_) {  // a resync may move a timeline back
      last_timestamp_.clear();
      resyncs_seen_ = counters_.face_resyncs.get();
    }
    const auto last = last_timestamp_.find(frame->face);
    require(last == last_timestamp_.end() || frame->timestamp > last->second, "images of a face left out of timestamp order");
    last_timestamp_[frame->face] = frame->timestamp;
    ++frames_emitted_;
    streams_present_ += static_cast<std::uint64_t>(std::popcount(frame->stream_present_mask));
    streams_missing_ += static_cast<std::uint64_t>(frame->missing_stream_count());
    held_.push_back(std::move(frame));
    if (held_.size() > setup_.held_limit) held_.pop_front();
  }

  void check_final_accounting() {
    const daq::ReceiveCounters& c = counters_;
    require(frames_emitted_ == c.frames_complete.get() + c.frames_incomplete.get(),
            "frames_complete + frames_incomplete differs from the images emitted");
    require(streams_present_ == c.datagrams_accepted.get(), "accepted datagrams differ from the stream frames in emitted images");
    require(c.stream_frames_lost.get() == streams_missing_ + daq::kStreamsPerFace * c.frames_without_data.get(),
            "stream_frames_lost differs from the missing streams of emitted images and empty periods");
    require(c.periods_skipped.get() <= daq::FrameBuilder::kMaxSkippedPeriods * c.face_resyncs.get(),
            "periods_skipped exceeds its bound per resync");
    std::vector<daq::FrameHandle> all;  // every frame must be back in the pool
    for (std::size_t i = 0; i < setup_.pool_frames; ++i) all.push_back(pool_.acquire());
    require(std::all_of(all.begin(), all.end(), [](const daq::FrameHandle& f) { return f != nullptr; }),
            "a frame did not return to the pool after flush()");
  }

  const Setup& setup_;
  daq::ReceiveCounters counters_;
  daq::FramePool& pool_;
  std::vector<daq::FrameHandle> reserved_;  // the frames of the process's pool this session does not have
  daq::FrameBuilder builder_;
  std::vector<daq::StreamKey> streams_;
  std::array<std::byte, wibeth::kFrameBytes> template_{};
  std::uint64_t base_timestamp_ = std::uint64_t{1} << 40;
  std::int64_t period_ = 0;
  Clock::time_point now_{};
  std::deque<daq::FrameHandle> held_;
  std::map<std::uint32_t, std::uint64_t> last_timestamp_;
  std::uint64_t resyncs_seen_ = 0, frames_emitted_ = 0, streams_present_ = 0, streams_missing_ = 0;
};

}  // namespace

void fuzz_frame_builder(const std::uint8_t* data, std::size_t size) {
  FuzzReader in(data, size);
  const Setup setup(in);
  static const daq::ChannelMap map = daq::ChannelMap::emulated(1);  // faces 0 and 1
  static daq::FramePool pool(kLargestPool);                      // every frame returns to it (checked)
  BuilderSession session(setup, map, pool);
  session.run(in);
}

}  // namespace larsel::fuzz

LARSEL_FUZZ_TARGET(larsel::fuzz::fuzz_frame_builder)
