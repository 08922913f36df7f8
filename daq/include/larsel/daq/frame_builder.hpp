#pragma once
// Assembles 480 x 64 collection images from validated WIBEth datagrams: the
// 24 X channels of each of a face's 20 streams with the same timestamp form
// one Frame. Images leave in timestamp order, complete or, after a timeout or
// when the reorder window is full, flagged with their missing streams.
// Every datagram ends in exactly one outcome counter (see ReceiveCounters).
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "larsel/daq/channel_map.hpp"
#include "larsel/daq/frame.hpp"
#include "larsel/daq/receive_counters.hpp"
#include "larsel/daq/wibeth.hpp"

namespace larsel::daq {

/// At most this many open periods per face: the per-stream duplicate history is 64 frames deep.
inline constexpr unsigned kMaxWindowFrames = 64;

struct FrameBuilderConfig {
  /// An image still missing streams this long after its first datagram is
  /// emitted incomplete, once later periods have arrived (else after
  /// kSilentTimeoutFactor times as long: the whole face went quiet).
  std::chrono::microseconds incomplete_timeout{10'000};
  /// Image periods a face may hold open at once (2-64; 64 = 2.1 ms at the real rate).
  unsigned window_frames = kMaxWindowFrames;
  std::uint8_t det_id = wibeth::kDetIdHdTpc;
  /// The kernel set of the WIBEth unpack (default: the one this process runs, core::selected_kernel_set()).
  std::optional<core::KernelSet> kernels{};
};

class FrameBuilder {
 public:
  using Clock = std::chrono::steady_clock;
  using Sink = std::function<void(FrameHandle)>;

  /// Builds images for `faces` of `map`. Throws core::ConfigError/core::FormatError if a
  /// face is not in the map or the window is out of range.
  FrameBuilder(const ChannelMap& map, std::span<const std::uint32_t> faces, FramePool& pool,
               ReceiveCounters& counters, Sink sink, FrameBuilderConfig config = {});

  /// Timestamps above this are rejected as malformed (wibeth::header_fault).
  static constexpr std::uint64_t kMaxTimestamp = wibeth::kMaxTimestamp;
  /// Datagrams off the current timeline that agree with each other, in a
  /// row, before the face moves to their timeline.
  static constexpr unsigned kResyncConfirmations = 3;
  /// A resync further ahead than 10 s of image periods is a new time base, not a loss (periods_skipped).
  static constexpr std::uint64_t kMaxSkippedPeriods = 305'176;
  /// Timeout multiplier for an image of a face that has sent nothing newer.
  static constexpr int kSilentTimeoutFactor = 10;

  /// One datagram; `length_on_wire` is its true length (the buffer may hold less).
  void on_datagram(std::span<const std::byte> datagram, std::size_t length_on_wire, Clock::time_point arrival);
  /// Emit images whose timeout has passed.
  void poll_timeouts(Clock::time_point now);
  /// Emit every pending image (end of run).
  void flush();
  /// The WIBEth unpack kernel it runs ("avx2", "baseline").
  [[nodiscard]] const char* unpack_kernel_name() const noexcept { return unpack_.name; }

 private:
  struct StreamState {
    std::uint32_t face_slot = 0;      // index into faces_
    std::uint32_t bit = 0;            // 1 << position of the stream in its FaceLayout
    std::array<std::uint16_t, kXChannelsPerStream> wire{};
    std::array<std::int16_t, wibeth::kChannels> wire_of_channel{};  // -1: not a collection channel
    std::uint8_t collection_blocks = 0;  // bit b: channels 8b-8b+7 hold collection wires
    bool started = false;
    std::uint64_t newest_timestamp = 0;
    std::uint16_t newest_seq_id = 0;
    std::uint64_t seen_window = 0;    // bit k: frame newest - k*2048 was received
  };
  struct Pending {
    FrameHandle frame;
    Clock::time_point first_arrival;
  };
  struct FaceState {
    std::uint32_t face = 0;
    bool started = false;
    bool emitted_any = false;
    std::uint64_t first_timestamp = 0;  // Frame::sequence counts periods from here
    std::uint64_t next_timestamp = 0;   // oldest image not yet emitted
    std::uint64_t newest_timestamp = 0; // newest image with data
    std::size_t pending_count = 0;
    std::vector<Pending> ring;          // window_frames slots
    // Datagrams off the timeline that agree with each other (see on_timeline).
    unsigned resync_votes = 0;
    std::uint64_t resync_low = 0, resync_high = 0;
  };

  [[nodiscard]] std::uint64_t window_ticks() const noexcept { return std::uint64_t{config_.window_frames} * wibeth::kTicksPerFrame; }
  bool on_timeline(FaceState& face, std::uint64_t timestamp);
  void resync(FaceState& face);
  [[nodiscard]] std::uint64_t skipped_periods(const FaceState& face) const noexcept;
  [[nodiscard]] bool seen_before(const StreamState& stream, std::uint64_t timestamp) const noexcept;
  static void mark_seen(StreamState& stream, std::uint64_t timestamp) noexcept;
  void record_continuity(StreamState& stream, const wibeth::Header& header);
  Pending& slot(FaceState& face, std::uint64_t timestamp) noexcept;
  Pending* open_image(FaceState& face, std::uint64_t timestamp, Clock::time_point arrival);
  void place_collection(const StreamState& stream, wibeth::FrameView datagram, Frame& frame) noexcept;
  void emit(FaceState& face, Pending& pending);
  void step(FaceState& face);
  void emit_ready(FaceState& face);

  FramePool& pool_;
  ReceiveCounters& counters_;
  Sink sink_;
  FrameBuilderConfig config_;
  std::unordered_map<std::uint32_t, std::uint32_t> stream_index_;  // StreamKey::packed() -> streams_
  std::vector<StreamState> streams_;
  std::vector<FaceState> faces_;
  wibeth::UnpackKernel unpack_;
  std::array<std::uint16_t, Frame::kTicks> discarded_row_{};  // the non-collection channels of a collection block
};

}  // namespace larsel::daq
