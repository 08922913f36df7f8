// Frame builder fed in memory: pixels land on the right wires, and each kind
// of bad datagram ends in its own counter.
#include <catch2/catch.hpp>

#include <chrono>

#include "larsel/daq/emulator.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/daq/frame_builder.hpp"
#include "support.hpp"

using namespace larsel::daq;
namespace wb = larsel::daq::wibeth;

namespace {

/// Encodes a face's waveforms into its 20 stream frames for one period.
class FaceEncoder {
 public:
  FaceEncoder(const ChannelMap& map, std::uint32_t face) : map_(map), layout_(map.face_layout(face)) {}

  /// Collection pixel (wire, tick) = pattern(wire, tick); induction = 1.
  template <typename Pattern>
  std::vector<std::byte> encode(std::uint64_t timestamp, std::uint16_t seq, Pattern pattern) const {
    std::vector<std::byte> out(layout_.streams.size() * wb::kFrameBytes);
    for (std::size_t s = 0; s < layout_.streams.size(); ++s) {
      const StreamKey key = layout_.streams[s].key;
      std::array<std::uint16_t, wb::kAdcCount> adc{};
      for (unsigned c = 0; c < 64; ++c) {
        const ChannelInfo* info = map_.find(key, c);
        for (unsigned t = 0; t < 64; ++t) adc[t * 64 + c] = info->plane == Plane::X ? pattern(info->wire, t) : 1;
      }
      wb::Header h;
      h.crate_id = key.crate;
      h.slot_id = key.slot;
      h.stream_id = key.stream;
      h.timestamp = timestamp;
      h.seq_id = seq;
      wb::MutableFrameView view(out.data() + s * wb::kFrameBytes, wb::kFrameBytes);
      wb::encode_header(h, view);
      wb::pack_adcs(adc, view);
    }
    return out;
  }
  [[nodiscard]] std::size_t streams() const { return layout_.streams.size(); }

 private:
  const ChannelMap& map_;
  FaceLayout layout_;
};

std::span<const std::byte> datagram(const std::vector<std::byte>& period, std::size_t stream) {
  return {period.data() + stream * wb::kFrameBytes, wb::kFrameBytes};
}

struct Harness {
  ChannelMap map;
  FramePool pool{256};  // the tests keep every frame they receive
  ReceiveCounters counters;
  std::vector<FrameHandle> frames;
  FrameBuilder builder;
  explicit Harness(ChannelMap m, std::uint32_t face = 0, FrameBuilderConfig config = {})
      : map(std::move(m)),
        builder(map, std::span(&face, 1), pool, counters, [this](FrameHandle f) { frames.push_back(std::move(f)); }, config) {}
};

constexpr std::uint64_t kT0 = 1'000'000'000;

void feed(Harness& h, std::span<const std::byte> bytes, FrameBuilder::Clock::time_point when) {
  h.builder.on_datagram(bytes, bytes.size(), when);
}
std::uint16_t pattern(unsigned wire, unsigned tick) { return static_cast<std::uint16_t>((wire * 64 + tick) % 16384); }

}  // namespace

TEST_CASE("a face's 20 streams become one wire-major 480 x 64 image", "[frame_builder]") {
  Harness h(ChannelMap::emulated(1));
  FaceEncoder encoder(h.map, 0);
  const auto now = FrameBuilder::Clock::now();
  for (std::uint64_t k = 0; k < 3; ++k) {
    const auto period = encoder.encode(kT0 + k * 2048, static_cast<std::uint16_t>(k),
                                       [k](unsigned w, unsigned t) { return pattern(w, t + static_cast<unsigned>(k)); });
    for (std::size_t s = 0; s < encoder.streams(); ++s) feed(h, datagram(period, s), now);
  }
  REQUIRE(h.frames.size() == 3);
  for (std::uint64_t k = 0; k < 3; ++k) {
    const Frame& f = *h.frames[k];
    CHECK(f.complete());
    CHECK(f.timestamp == kT0 + k * 2048);
    CHECK(f.sequence == k);
    CHECK(f.face == 0);
    std::size_t wrong = 0;
    for (unsigned w = 0; w < 480; ++w) {
      for (unsigned t = 0; t < 64; ++t) wrong += f.adc[w * 64 + t] != pattern(w, t + static_cast<unsigned>(k));
    }
    CHECK(wrong == 0);
  }
  CHECK(h.counters.frames_complete.get() == 3);
  CHECK(h.counters.anomalies() == 0);
}

TEST_CASE("with DUNE's PD2HD map the image rows follow offline channel order", "[frame_builder][fixture]") {
  const auto dir = larsel::test::fixture_dir();
  if (!dir) return;
  Harness h(ChannelMap::read_pd2hd(*dir / "PD2HDChannelMap_v6.txt"), 1);
  FaceEncoder encoder(h.map, 1);
  const auto period = encoder.encode(kT0, 0, pattern);
  for (std::size_t s = 0; s < encoder.streams(); ++s) feed(h, datagram(period, s), FrameBuilder::Clock::now());
  REQUIRE(h.frames.size() == 1);
  std::size_t wrong = 0;
  for (unsigned w = 0; w < 480; ++w) {
    for (unsigned t = 0; t < 64; ++t) wrong += h.frames[0]->adc[w * 64 + t] != pattern(w, t);
  }
  CHECK(wrong == 0);
}

TEST_CASE("a missing stream: the image leaves after the timeout, flagged and zero-filled", "[frame_builder]") {
  FrameBuilderConfig config;
  config.incomplete_timeout = std::chrono::microseconds(500);
  Harness h(ChannelMap::emulated(1), 0, config);
  FaceEncoder encoder(h.map, 0);
  const auto period = encoder.encode(kT0, 0, [](unsigned, unsigned) { return std::uint16_t{77}; });
  const auto next = encoder.encode(kT0 + 2048, 1, [](unsigned, unsigned) { return std::uint16_t{77}; });
  const auto t0 = FrameBuilder::Clock::now();
  for (std::size_t s = 0; s < encoder.streams(); ++s) {
    if (s != 7) feed(h, datagram(period, s), t0);
  }
  SECTION("the face moved on: given up after the timeout") {
    feed(h, datagram(next, 0), t0 + std::chrono::microseconds(100));
    h.builder.poll_timeouts(t0 + std::chrono::microseconds(400));
    CHECK(h.frames.empty());
    h.builder.poll_timeouts(t0 + std::chrono::microseconds(600));
  }
  SECTION("the whole face went quiet (a stalled sender): ten times longer") {
    h.builder.poll_timeouts(t0 + std::chrono::microseconds(4900));
    CHECK(h.frames.empty());
    h.builder.poll_timeouts(t0 + std::chrono::microseconds(5100));
  }
  REQUIRE(h.frames.size() == 1);
  const Frame& f = *h.frames[0];
  CHECK(f.missing_streams() == 1u << 7);
  CHECK(h.counters.frames_incomplete.get() == 1);
  CHECK(h.counters.stream_frames_lost.get() == 1);
  // Stream 7 of the emulated face feeds wires 168-191.
  CHECK(f.adc[167 * 64] == 77);
  CHECK(f.adc[168 * 64] == 0);
  CHECK(f.adc[191 * 64 + 63] == 0);
  CHECK(f.adc[192 * 64] == 77);
  // The missing datagram arriving afterwards is late.
  feed(h, datagram(period, 7), t0 + std::chrono::milliseconds(6));
  CHECK(h.counters.late.get() == 1);
  CHECK(h.frames.size() == 1);
}

TEST_CASE("each kind of bad datagram has its own counter", "[frame_builder]") {
  Harness h(ChannelMap::emulated(2));  // builds face 0 only; face 1's streams are known to the map but not built
  FaceEncoder encoder(h.map, 0);
  const auto now = FrameBuilder::Clock::now();
  auto period = encoder.encode(kT0, 0, pattern);
  std::vector<std::byte> bytes(datagram(period, 0).begin(), datagram(period, 0).end());

  feed(h, std::span(bytes).first(7199), now);
  CHECK(h.counters.malformed_size.get() == 1);
  auto with_header = [&](auto edit) {
    std::vector<std::byte> copy = bytes;
    wb::MutableFrameView view(copy.data(), wb::kFrameBytes);
    wb::Header hd = wb::decode_header(view);
    edit(hd);
    wb::encode_header(hd, view);
    feed(h, copy, now);
  };
  with_header([](wb::Header& hd) { hd.daq_version = 1; });
  with_header([](wb::Header& hd) { hd.det_id = 10; });
  with_header([](wb::Header& hd) { hd.stream_id = 4; });  // bit 2 is never valid
  CHECK(h.counters.malformed_header.get() == 3);
  with_header([](wb::Header& hd) { hd.crate_id = 9; });
  CHECK(h.counters.unknown_stream.get() == 1);

  feed(h, bytes, now);
  feed(h, bytes, now);
  CHECK(h.counters.duplicate.get() == 1);
  with_header([](wb::Header& hd) { hd.timestamp += 2048 + 5; });
  CHECK(h.counters.timestamp_misaligned.get() == 1);
  with_header([](wb::Header& hd) { hd.timestamp += 3 * 2048; hd.seq_id = 2; });
  CHECK(h.counters.seq_gap.get() == 1);
  CHECK(h.counters.seq_id_mismatch.get() == 1);  // 3 periods on, seq_id should be 3
  CHECK(h.counters.datagrams_received.get() == 9);
  CHECK(h.counters.datagrams_accepted.get() == 2);
}

namespace {

/// Feed periods [first, last) of a face, every stream, with the right seq_ids.
void feed_periods(Harness& h, const FaceEncoder& encoder, std::uint64_t t0, std::uint64_t first, std::uint64_t last) {
  for (std::uint64_t k = first; k < last; ++k) {
    const auto period = encoder.encode(t0 + k * 2048, static_cast<std::uint16_t>(k % 4096), pattern);
    for (std::size_t s = 0; s < encoder.streams(); ++s) feed(h, datagram(period, s), FrameBuilder::Clock::now());
  }
}

std::vector<std::byte> with_timestamp(const std::vector<std::byte>& period, std::size_t stream, std::uint64_t ts) {
  std::vector<std::byte> copy(datagram(period, stream).begin(), datagram(period, stream).end());
  wb::MutableFrameView view(copy.data(), wb::kFrameBytes);
  wb::Header hd = wb::decode_header(view);
  hd.timestamp = ts;
  wb::encode_header(hd, view);
  return copy;
}

}  // namespace

TEST_CASE("a lone corrupted timestamp is counted and changes nothing", "[frame_builder]") {
  Harness h(ChannelMap::emulated(1));
  FaceEncoder encoder(h.map, 0);
  feed_periods(h, encoder, kT0, 0, 10);
  const auto period = encoder.encode(kT0, 0, pattern);
  feed(h, with_timestamp(period, 3, kT0 + (std::uint64_t{1} << 45)), FrameBuilder::Clock::now());  // one flipped bit
  feed(h, with_timestamp(period, 3, 0xFFFFFFFFFFFFF800ULL), FrameBuilder::Clock::now());            // near 2^64
  feed_periods(h, encoder, kT0, 10, 100);
  h.builder.poll_timeouts(FrameBuilder::Clock::now() + std::chrono::seconds(1));
  CHECK(h.counters.timestamp_jump.get() == 1);
  CHECK(h.counters.malformed_header.get() == 1);
  CHECK(h.counters.face_resyncs.get() == 0);
  CHECK(h.counters.frames_complete.get() == 100);
  CHECK(h.counters.late.get() + h.counters.out_of_order.get() + h.counters.duplicate.get() == 0);
}

TEST_CASE("a source restarting on another clock resyncs after three agreeing datagrams", "[frame_builder]") {
  for (const std::int64_t jump_periods : {1'000'000, -1'000'000}) {
    Harness h(ChannelMap::emulated(1));
    FaceEncoder encoder(h.map, 0);
    feed_periods(h, encoder, kT0 + 2'000'000 * 2048ULL, 0, 5);
    const std::uint64_t restarted = kT0 + static_cast<std::uint64_t>(2'000'000 + jump_periods) * 2048ULL;
    feed_periods(h, encoder, restarted, 0, 10);
    h.builder.flush();
    INFO("jump of " << jump_periods << " periods");
    CHECK(h.counters.face_resyncs.get() == 1);
    // The three confirming datagrams are counted (jump ahead, late behind) and dropped.
    CHECK(h.counters.timestamp_jump.get() + h.counters.late.get() == 3);
    CHECK(h.counters.frames_complete.get() == 5 + 9);
    CHECK(h.counters.frames_incomplete.get() == 1);
    CHECK(h.counters.stream_frames_lost.get() == 3);
    CHECK(h.counters.frames_without_data.get() == 0);
    CHECK(h.counters.periods_skipped.get() == 0);  // 30 s ahead or behind: a new time base, not a loss
  }
}

// Seen in the soak at real time: the kernel dropped bursts longer than the window, the face resynced
// ahead, and the periods in between were counted nowhere, so frames_lost under-reported.
TEST_CASE("a burst loss longer than the window: the periods a resync passes over are counted", "[frame_builder]") {
  Harness h(ChannelMap::emulated(1));
  FaceEncoder encoder(h.map, 0);
  feed_periods(h, encoder, kT0, 0, 5);
  feed_periods(h, encoder, kT0, 1000, 1010);  // periods 5..999 lost on the way (window: 64 periods)
  h.builder.flush();
  CHECK(h.counters.face_resyncs.get() == 1);
  CHECK(h.counters.periods_skipped.get() == 995);
  CHECK(h.counters.frames_complete.get() == 5 + 9);
  CHECK(h.counters.frames_incomplete.get() == 1);  // period 1000 without its 3 confirming datagrams
  CHECK(h.counters.frames_without_data.get() == 0);
}

TEST_CASE("a first datagram off the grid does not lock the face out", "[frame_builder]") {
  Harness h(ChannelMap::emulated(1));
  FaceEncoder encoder(h.map, 0);
  const auto period = encoder.encode(kT0, 0, pattern);
  feed(h, with_timestamp(period, 0, kT0 + 5), FrameBuilder::Clock::now());
  feed_periods(h, encoder, kT0, 0, 50);
  h.builder.flush();
  CHECK(h.counters.timestamp_misaligned.get() == 3);
  CHECK(h.counters.face_resyncs.get() == 1);
  CHECK(h.counters.frames_complete.get() == 49);  // period 0 lost its 3 confirming datagrams
}

TEST_CASE("a late datagram counts as late only", "[frame_builder]") {
  FrameBuilderConfig config;
  config.window_frames = 4;
  Harness h(ChannelMap::emulated(1), 0, config);
  FaceEncoder encoder(h.map, 0);
  const auto period0 = encoder.encode(kT0, 0, pattern);
  for (std::size_t s = 0; s < encoder.streams(); ++s) {
    if (s != 5) feed(h, datagram(period0, s), FrameBuilder::Clock::now());
  }
  feed_periods(h, encoder, kT0, 1, 5);  // period 4 pushes period 0 out of the window
  feed(h, datagram(period0, 5), FrameBuilder::Clock::now());
  CHECK(h.counters.late.get() == 1);
  CHECK(h.counters.out_of_order.get() == 0);
  CHECK(h.counters.frames_incomplete.get() == 1);
  feed(h, datagram(period0, 5), FrameBuilder::Clock::now());  // and again: still late, not a second outcome
  CHECK(h.counters.late.get() + h.counters.duplicate.get() == 2);
  CHECK_THROWS_AS(Harness(ChannelMap::emulated(1), 0, FrameBuilderConfig{.window_frames = 65}), larsel::core::ConfigError);
}

TEST_CASE("an exhausted pool drops and counts, then building resumes without a resync", "[frame_builder]") {
  ChannelMap map = ChannelMap::emulated(1);
  FramePool pool(4);
  ReceiveCounters counters;
  std::vector<FrameHandle> held;
  bool hold = true;  // first downstream stalls and holds every frame, later it releases them at once
  std::vector<std::uint64_t> sequences;
  const std::uint32_t face = 0;
  FrameBuilder builder(map, std::span(&face, 1), pool, counters, [&](FrameHandle f) {
    sequences.push_back(f->sequence);
    if (hold) held.push_back(std::move(f));
  }, FrameBuilderConfig{.window_frames = 2});
  FaceEncoder encoder(map, 0);
  auto feed_period = [&](std::uint64_t k) {
    const auto period = encoder.encode(kT0 + k * 2048, static_cast<std::uint16_t>(k), pattern);
    for (std::size_t s = 0; s < encoder.streams(); ++s) builder.on_datagram(datagram(period, s), wb::kFrameBytes, FrameBuilder::Clock::now());
  };
  for (std::uint64_t k = 0; k < 100; ++k) feed_period(k);  // downstream holds every frame: 4 images, then nothing
  CHECK(held.size() == 4);
  CHECK(counters.pool_exhausted.get() == 96 * 20);
  held.clear();  // downstream catches up
  hold = false;
  for (std::uint64_t k = 100; k < 110; ++k) feed_period(k);
  CHECK(counters.face_resyncs.get() == 0);
  CHECK(counters.timestamp_jump.get() == 0);
  // Each complete image leaves as soon as the window has moved past the empty periods before it.
  REQUIRE(sequences.size() == 14);
  CHECK(sequences[4] == 100);
  CHECK(sequences.back() == 109);
}
