#include "larsel/daq/frame_builder.hpp"

#include <algorithm>

#include <cstring>

#include <fmt/format.h>


#include "larsel/core/errors.hpp"

namespace larsel::daq {

using wibeth::kTicksPerFrame;

FrameBuilder::FrameBuilder(const ChannelMap& map, std::span<const std::uint32_t> faces, FramePool& pool,
                           ReceiveCounters& counters, Sink sink, FrameBuilderConfig config)
    : pool_(pool), counters_(counters), sink_(std::move(sink)), config_(config),
      unpack_(wibeth::unpack_kernel(config.kernels ? *config.kernels : core::selected_kernel_set())) {
  if (config_.window_frames < 2 || config_.window_frames > kMaxWindowFrames) {
    throw core::ConfigError(fmt::format("frame builder: window_frames must be 2-{}, got {}", kMaxWindowFrames, config_.window_frames));
  }
  if (faces.empty()) throw core::ConfigError("frame builder: no faces to build");
  for (const std::uint32_t face : faces) {
    const FaceLayout layout = map.face_layout(face);  // validates 480 wires x 20 streams
    const auto face_slot = static_cast<std::uint32_t>(faces_.size());
    FaceState state;
    state.face = face;
    state.ring.resize(config_.window_frames);
    faces_.push_back(std::move(state));
    for (std::size_t i = 0; i < layout.streams.size(); ++i) {
      const auto& s = layout.streams[i];
      if (!stream_index_.emplace(s.key.packed(), static_cast<std::uint32_t>(streams_.size())).second) {
        throw core::ConfigError(fmt::format("frame builder: face {} listed twice", face));
      }
      StreamState stream;
      stream.face_slot = face_slot;
      stream.bit = 1u << i;
      stream.wire = s.wire;
      stream.wire_of_channel.fill(-1);
      for (std::size_t j = 0; j < kXChannelsPerStream; ++j) {
        stream.wire_of_channel[s.channel[j]] = static_cast<std::int16_t>(s.wire[j]);
        stream.collection_blocks |= static_cast<std::uint8_t>(1u << (s.channel[j] / 8));
      }
      streams_.push_back(stream);
    }
  }
}

void FrameBuilder::on_datagram(std::span<const std::byte> datagram, std::size_t length_on_wire,
                               Clock::time_point arrival) {
  counters_.datagrams_received.add();
  counters_.bytes_received.add(length_on_wire);
  if (length_on_wire != wibeth::kFrameBytes || datagram.size() != wibeth::kFrameBytes) {
    counters_.malformed_size.add();
    return;
  }
  const wibeth::FrameView frame(datagram.data(), wibeth::kFrameBytes);
  const wibeth::Header header = wibeth::decode_header(frame);
  if (wibeth::header_fault(header, config_.det_id) != wibeth::HeaderFault::none) {
    counters_.malformed_header.add();
    return;
  }
  const auto found = stream_index_.find(StreamKey{header.crate_id, header.slot_id, header.stream_id}.packed());
  if (found == stream_index_.end()) {
    counters_.unknown_stream.add();
    return;
  }
  StreamState& stream = streams_[found->second];
  FaceState& face = faces_[stream.face_slot];
  const std::uint64_t ts = header.timestamp;
  if (!face.started) {
    face.started = true;
    face.first_timestamp = face.next_timestamp = face.newest_timestamp = ts;
  }
  if (!on_timeline(face, ts)) return;
  if (seen_before(stream, ts)) {  // whether or not its image has left
    counters_.duplicate.add();
    return;
  }
  if (ts < face.next_timestamp) {
    if (face.emitted_any) {
      counters_.late.add();
      mark_seen(stream, ts);
      return;
    }
    // Nothing emitted yet: a stream that started a little earlier than the
    // first one seen moves the face's start back instead of arriving "late".
    face.next_timestamp = face.first_timestamp = ts;
  }
  Pending* pending = open_image(face, ts, arrival);
  if (pending == nullptr) {
    counters_.pool_exhausted.add();
    return;
  }
  record_continuity(stream, header);
  place_collection(stream, frame, *pending->frame);
  pending->frame->stream_present_mask |= stream.bit;
  counters_.datagrams_accepted.add();
  if (ts == face.next_timestamp) emit_ready(face);
}

/// True if `ts` belongs to the face's current timeline: on its 2048-tick grid,
/// not beyond the window ahead, not a window behind what was emitted. A
/// datagram that is not is counted and dropped; kResyncConfirmations of them
/// in a row that agree with each other move the face to their timeline (a
/// restarted source, or a grid set by a bad first datagram), while a lone
/// corrupted timestamp changes nothing.
bool FrameBuilder::on_timeline(FaceState& face, std::uint64_t ts) {
  const std::uint64_t window = window_ticks();
  const bool off_grid = ts % kTicksPerFrame != face.first_timestamp % kTicksPerFrame;
  const bool far_ahead = ts >= std::max(face.newest_timestamp, face.next_timestamp) + window;
  // Before anything is emitted the start may move back, but only within a window of the newest image.
  const bool far_behind = ts + window <= (face.emitted_any ? face.next_timestamp : face.newest_timestamp);
  if (!off_grid && !far_ahead && !far_behind) {
    face.resync_votes = 0;
    return true;
  }
  if (off_grid) counters_.timestamp_misaligned.add();
  else if (far_ahead) counters_.timestamp_jump.add();
  else counters_.late.add();
  const bool agrees = face.resync_votes > 0 && ts % kTicksPerFrame == face.resync_low % kTicksPerFrame &&
                      ts + window > face.resync_high && ts < face.resync_low + window;
  if (agrees) {
    face.resync_low = std::min(face.resync_low, ts);
    face.resync_high = std::max(face.resync_high, ts);
    ++face.resync_votes;
  } else {
    face.resync_low = face.resync_high = ts;
    face.resync_votes = 1;
  }
  if (face.resync_votes >= kResyncConfirmations) resync(face);
  return false;
}

/// The image periods between the old timeline's next image and a new timeline on the same grid ahead of it:
/// a burst loss longer than the window (the readout's clock runs on; those periods delivered nothing). A move
/// back, onto another grid, before any image, or more than kMaxSkippedPeriods ahead is a new time base.
std::uint64_t FrameBuilder::skipped_periods(const FaceState& face) const noexcept {
  const std::uint64_t next = face.next_timestamp, target = face.resync_low;
  if (!face.emitted_any || target <= next || (target - next) % kTicksPerFrame != 0) return 0;
  const std::uint64_t periods = (target - next) / kTicksPerFrame;
  return periods <= kMaxSkippedPeriods ? periods : 0;
}

void FrameBuilder::resync(FaceState& face) {
  while (face.pending_count > 0) step(face);
  counters_.face_resyncs.add();
  counters_.periods_skipped.add(skipped_periods(face));
  face.first_timestamp = face.next_timestamp = face.resync_low;
  face.newest_timestamp = face.resync_high;
  face.resync_votes = 0;
  for (StreamState& s : streams_) {
    if (&faces_[s.face_slot] == &face) s.started = false;  // continuity restarts on the new timeline
  }
}

bool FrameBuilder::seen_before(const StreamState& s, std::uint64_t ts) const noexcept {
  if (!s.started || ts > s.newest_timestamp) return false;
  const std::uint64_t back = (s.newest_timestamp - ts) / kTicksPerFrame;
  return back < 64 && (s.seen_window >> back & 1);
}

void FrameBuilder::mark_seen(StreamState& s, std::uint64_t ts) noexcept {
  if (!s.started || ts > s.newest_timestamp) return;
  const std::uint64_t back = (s.newest_timestamp - ts) / kTicksPerFrame;
  if (back < 64) s.seen_window |= std::uint64_t{1} << back;
}

/// seq_id/timestamp continuity of an accepted datagram: seq_gap, seq_id_mismatch, out_of_order.
void FrameBuilder::record_continuity(StreamState& s, const wibeth::Header& header) {
  const std::uint64_t ts = header.timestamp;
  if (!s.started) {
    s.started = true;
    s.newest_timestamp = ts;
    s.newest_seq_id = header.seq_id;
    s.seen_window = 1;
    return;
  }
  if (ts > s.newest_timestamp) {
    const std::uint64_t steps = (ts - s.newest_timestamp) / kTicksPerFrame;
    if (steps > 1) counters_.seq_gap.add();
    if (header.seq_id != ((s.newest_seq_id + steps) & (wibeth::kSeqIdModulus - 1))) counters_.seq_id_mismatch.add();
    s.seen_window = steps >= 64 ? 1 : (s.seen_window << steps) | 1;
    s.newest_timestamp = ts;
    s.newest_seq_id = header.seq_id;
    return;
  }
  const std::uint64_t back = (s.newest_timestamp - ts) / kTicksPerFrame;
  if (back < 64) s.seen_window |= std::uint64_t{1} << back;
  if (header.seq_id != ((s.newest_seq_id + wibeth::kSeqIdModulus - back % wibeth::kSeqIdModulus) & (wibeth::kSeqIdModulus - 1))) {
    counters_.seq_id_mismatch.add();
  }
  counters_.out_of_order.add();
}

FrameBuilder::Pending& FrameBuilder::slot(FaceState& face, std::uint64_t timestamp) noexcept {
  return face.ring[(timestamp / kTicksPerFrame) % face.ring.size()];
}

/// The image for `ts`, opened (and the window advanced) if needed; nullptr when the pool is empty.
FrameBuilder::Pending* FrameBuilder::open_image(FaceState& face, std::uint64_t ts, Clock::time_point arrival) {
  if (ts >= face.next_timestamp + window_ticks()) {
    while (ts >= face.next_timestamp + window_ticks()) step(face);  // bounded: on_timeline limits the jump
    emit_ready(face);  // complete images right behind the new start leave now, not a window later
  }
  face.newest_timestamp = std::max(face.newest_timestamp, ts);     // the timeline advances even if the pool is empty
  Pending& pending = slot(face, ts);
  if (!pending.frame) {
    pending.frame = pool_.acquire();
    if (!pending.frame) return nullptr;
    Frame& f = *pending.frame;
    f.timestamp = ts;
    f.face = face.face;
    f.stream_present_mask = 0;
    pending.first_arrival = arrival;
    ++face.pending_count;
  }
  return &pending;
}

/// Sample-major scratch [64 t][64 ch] -> the stream's 24 wire rows, by 8 x 8
/// block transposes over just the channel blocks that hold collection wires.
/// Unpacks the channel blocks holding collection wires straight into their image rows (the other channels of
/// those blocks go to a row nobody reads).
void FrameBuilder::place_collection(const StreamState& stream, wibeth::FrameView datagram, Frame& frame) noexcept {
  std::uint16_t* rows[wibeth::kChannels];
  for (std::size_t c = 0; c < wibeth::kChannels; ++c) {
    const std::int16_t wire = stream.wire_of_channel[c];
    rows[c] = wire >= 0 ? frame.adc.data() + static_cast<std::size_t>(wire) * Frame::kTicks : discarded_row_.data();
  }
  unpack_.run_rows(datagram, stream.collection_blocks, rows);
}

void FrameBuilder::emit(FaceState& face, Pending& pending) {
  Frame& frame = *pending.frame;
  frame.sequence = (frame.timestamp - face.first_timestamp) / kTicksPerFrame;
  if (frame.complete()) {
    counters_.frames_complete.add();
  } else {
    counters_.frames_incomplete.add();
    counters_.stream_frames_lost.add(static_cast<std::uint64_t>(frame.missing_stream_count()));
    // Zero the rows of missing streams: the pool recycles frames.
    for (const StreamState& s : streams_) {
      if (&faces_[s.face_slot] != &face || (frame.stream_present_mask & s.bit)) continue;
      for (const std::uint16_t wire : s.wire) std::ranges::fill(frame.wire(wire), std::uint16_t{0});
    }
  }
  --face.pending_count;
  face.emitted_any = true;
  sink_(std::move(pending.frame));
  pending.frame.reset();
}

/// Emit (or skip, if it holds nothing) the oldest period and move on by one.
void FrameBuilder::step(FaceState& face) {
  Pending& pending = slot(face, face.next_timestamp);
  if (pending.frame) {
    emit(face, pending);
  } else {
    counters_.frames_without_data.add();
    counters_.stream_frames_lost.add(kStreamsPerFace);
  }
  face.next_timestamp += kTicksPerFrame;
}

void FrameBuilder::emit_ready(FaceState& face) {
  for (;;) {
    Pending& pending = slot(face, face.next_timestamp);
    if (!pending.frame || !pending.frame->complete()) return;
    emit(face, pending);
    face.next_timestamp += kTicksPerFrame;
  }
}

void FrameBuilder::poll_timeouts(Clock::time_point now) {
  for (FaceState& face : faces_) {
    while (face.pending_count > 0) {
      // The oldest pending image decides; empty periods before it are skipped with it.
      std::uint64_t ts = face.next_timestamp;
      while (!slot(face, ts).frame) ts += kTicksPerFrame;
      // A stream is given up on once later periods have arrived from the others
      // (it is dead or lossy); if the whole face went quiet (a stalled or
      // stopped sender) the image waits longer, so a stall is not called a loss.
      const auto age = now - slot(face, ts).first_arrival;
      const bool face_moved_on = face.newest_timestamp > ts;
      if (age < (face_moved_on ? config_.incomplete_timeout : kSilentTimeoutFactor * config_.incomplete_timeout)) break;
      while (face.next_timestamp <= ts) step(face);
    }
    emit_ready(face);
  }
}

void FrameBuilder::flush() {
  for (FaceState& face : faces_) {
    while (face.pending_count > 0) step(face);
  }
}

}  // namespace larsel::daq
