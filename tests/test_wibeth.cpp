// WIBEth codec: the real ProtoDUNE-HD fixture against DUNE's golden ADCs,
// round trips of random frames, and an independent bit-by-bit packer.
#include <catch2/catch.hpp>

#include "larsel/daq/fragment.hpp"
#include "larsel/daq/wibeth.hpp"
#include "larsel/daq/wibeth_file.hpp"
#include "kernel_sets.hpp"
#include "support.hpp"

using namespace larsel::daq;
namespace wb = larsel::daq::wibeth;

namespace {

/// Straight from the format text, sharing no code with the codec: channel c
/// of sample t is bits [14c, 14c+14) of the 896-bit little-endian integer at
/// byte 32 + 112 t, set here one bit at a time.
void reference_pack(const std::vector<std::uint16_t>& adc, std::vector<std::byte>& frame) {
  for (std::size_t t = 0; t < 64; ++t) {
    for (std::size_t c = 0; c < 64; ++c) {
      for (std::size_t b = 0; b < 14; ++b) {
        const std::size_t bit = 14 * c + b;
        const std::size_t byte = 32 + 112 * t + bit / 8;
        if (adc[t * 64 + c] >> b & 1) frame[byte] |= std::byte{1} << (bit % 8);
      }
    }
  }
}

wb::Header random_header(std::mt19937_64& rng) {
  auto bits = [&rng](unsigned width) { return rng() & ((std::uint64_t{1} << width) - 1); };
  wb::Header h;
  h.daq_version = static_cast<std::uint8_t>(bits(6));
  h.det_id = static_cast<std::uint8_t>(bits(6));
  h.crate_id = static_cast<std::uint16_t>(bits(10));
  h.slot_id = static_cast<std::uint8_t>(bits(4));
  h.stream_id = static_cast<std::uint8_t>(bits(8));
  h.seq_id = static_cast<std::uint16_t>(bits(12));
  h.block_length = static_cast<std::uint16_t>(bits(12));
  h.timestamp = rng();
  h.colddata_timestamp_0 = static_cast<std::uint16_t>(bits(15));
  h.colddata_timestamp_1 = static_cast<std::uint16_t>(bits(15));
  h.cd = static_cast<std::uint8_t>(bits(1));
  h.crc_err = static_cast<std::uint8_t>(bits(2));
  h.link_valid = static_cast<std::uint8_t>(bits(2));
  h.lol = static_cast<std::uint8_t>(bits(1));
  h.wib_sync = static_cast<std::uint8_t>(bits(1));
  h.femb_sync = static_cast<std::uint8_t>(bits(2));
  h.pulser = static_cast<std::uint8_t>(bits(1));
  h.calibration = static_cast<std::uint8_t>(bits(1));
  h.ready = static_cast<std::uint8_t>(bits(1));
  h.context = static_cast<std::uint8_t>(bits(8));
  h.wib_version = static_cast<std::uint8_t>(bits(4));
  h.channel = static_cast<std::uint8_t>(bits(8));
  h.extra_data = rng();
  return h;
}

}  // namespace

TEST_CASE("ProtoDUNE-HD fragment decodes to DUNE's golden ADCs bit for bit", "[wibeth][fixture]") {
  const auto dir = larsel::test::fixture_dir();
  if (!dir) return;
  const auto bytes = larsel::test::read_bytes(*dir / "wibeth_fragment.bin");
  const auto golden = larsel::test::read_bytes(*dir / "wibeth_golden.bin");
  REQUIRE(golden.size() == 64 * 128 * 2);
  const WibEthBuffer buffer = locate_wibeth_frames(bytes, "fixture");
  REQUIRE(buffer.frame_count == 2);
  const DecodedFrames decoded = decode_frames(buffer);
  REQUIRE(decoded.ticks == 128);
  std::size_t mismatches = 0;
  for (std::size_t c = 0; c < 64; ++c) {
    for (std::size_t t = 0; t < 128; ++t) {
      std::int16_t expected;
      std::memcpy(&expected, golden.data() + 2 * (c * 128 + t), 2);
      mismatches += decoded.at(c, t) != expected;
    }
  }
  CHECK(mismatches == 0);

  SECTION("the scalar reference kernel agrees with every kernel set's") {
    std::array<std::uint16_t, wb::kAdcCount> fast{}, scalar{};
    for (const larsel::core::KernelSet set : larsel::test::runnable_kernel_sets()) {
      const wb::UnpackKernel kernel = wb::unpack_kernel(set);
      INFO("kernel " << kernel.name);
      for (std::size_t f = 0; f < 2; ++f) {
        const wb::FrameView frame(buffer.frames.data() + f * wb::kFrameBytes, wb::kFrameBytes);
        kernel.run(frame, fast);
        wb::unpack_adcs_scalar(frame, scalar);
        CHECK(fast == scalar);
      }
    }
  }
  SECTION("headers hold the documented values") {
    const auto& h0 = decoded.headers[0];
    const auto& h1 = decoded.headers[1];
    CHECK(h0.daq_version == 0);
    CHECK(h0.det_id == 3);
    CHECK(h0.crate_id == 1);
    CHECK(h0.slot_id == 0);
    CHECK(h0.stream_id == 0);
    CHECK(h0.seq_id == 2214);
    CHECK(h1.seq_id == 2215);
    CHECK(h0.block_length == 899);
    CHECK(h0.timestamp == 107544625968523275ULL);
    CHECK(h1.timestamp == h0.timestamp + 2048);
    CHECK(h0.colddata_timestamp_0 == 10251);
    CHECK(h1.colddata_timestamp_0 == 12299);
    CHECK(h0.colddata_timestamp_1 == (h0.timestamp & 0x7FFF));
    CHECK(h0.link_valid == 3);
    CHECK(h0.wib_sync == 1);
    CHECK(h0.femb_sync == 3);
    CHECK(h0.wib_version == 5);
    CHECK(h0.extra_data == 0);
  }
  SECTION("re-encoding the decoded frames reproduces the original bytes") {
    for (std::size_t f = 0; f < 2; ++f) {
      const wb::FrameView original(buffer.frames.data() + f * wb::kFrameBytes, wb::kFrameBytes);
      std::array<std::uint16_t, wb::kAdcCount> adc{};
      wb::unpack_adcs(original, adc);
      std::vector<std::byte> again(wb::kFrameBytes);
      wb::MutableFrameView view(again.data(), wb::kFrameBytes);
      wb::encode_header(wb::decode_header(original), view);
      wb::pack_adcs(adc, view);
      CHECK(std::equal(again.begin(), again.end(), original.begin()));
    }
  }
}

TEST_CASE("random frames survive encode -> decode, and match an independent packer", "[wibeth]") {
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<std::uint16_t> adc_value(0, wb::kAdcMax);
  const std::vector<larsel::core::KernelSet> sets = larsel::test::runnable_kernel_sets();
  for (int trial = 0; trial < 200; ++trial) {
    const wb::Header header = random_header(rng);
    std::vector<std::uint16_t> adc(wb::kAdcCount);
    for (auto& v : adc) v = trial == 0 ? wb::kAdcMax : adc_value(rng);  // first: all bits set

    std::vector<std::byte> ours(wb::kFrameBytes);
    wb::MutableFrameView view(ours.data(), wb::kFrameBytes);
    wb::encode_header(header, view);
    wb::pack_adcs(std::span<const std::uint16_t, wb::kAdcCount>(adc.data(), wb::kAdcCount), view);
    REQUIRE(wb::decode_header(view) == header);

    std::array<std::uint16_t, wb::kAdcCount> scalar{};
    wb::unpack_adcs_scalar(view, scalar);
    REQUIRE(std::equal(scalar.begin(), scalar.end(), adc.begin()));
    for (const larsel::core::KernelSet set : sets) {
      std::array<std::uint16_t, wb::kAdcCount> fast{};
      wb::unpack_kernel(set).run(view, fast);
      REQUIRE(scalar == fast);
    }

    std::vector<std::byte> reference(wb::kFrameBytes);
    std::copy_n(ours.begin(), wb::kHeaderBytes, reference.begin());
    reference_pack(adc, reference);
    REQUIRE(reference == ours);
  }
}

TEST_CASE("encoder refuses values that do not fit their fields", "[wibeth]") {
  std::vector<std::byte> frame(wb::kFrameBytes);
  wb::MutableFrameView view(frame.data(), wb::kFrameBytes);
  wb::Header h;
  h.crate_id = 1024;  // 10 bits
  CHECK_THROWS_WITH(wb::encode_header(h, view), Catch::Contains("crate_id") && Catch::Contains("10 bits"));
  std::array<std::uint16_t, wb::kAdcCount> adc{};
  adc[5 * 64 + 7] = 16384;
  CHECK_THROWS_WITH(wb::pack_adcs(adc, view), Catch::Contains("sample 5, channel 7"));
}

TEST_CASE("rewrite_time sets timestamp, seq_id and both colddata timestamps only", "[wibeth]") {
  std::mt19937_64 rng(99);
  std::vector<std::byte> frame(wb::kFrameBytes);
  wb::MutableFrameView view(frame.data(), wb::kFrameBytes);
  wb::Header h = random_header(rng);
  wb::encode_header(h, view);
  wb::rewrite_time(view, 107544625968523275ULL, 4095);
  h.timestamp = 107544625968523275ULL;
  h.seq_id = 4095;
  h.colddata_timestamp_0 = h.colddata_timestamp_1 = 10251;
  CHECK(wb::decode_header(view) == h);
  CHECK(wb::read_timestamp(view) == h.timestamp);
}

TEST_CASE("Unpacking channel blocks into rows gives each channel's 64 samples and nothing else, in every kernel set", "[wibeth]") {
  std::mt19937_64 rng(77);
  std::uniform_int_distribution<std::uint16_t> adc_value(0, wb::kAdcMax);
  std::vector<std::uint16_t> adc(wb::kAdcCount);
  for (auto& v : adc) v = adc_value(rng);
  adc[wb::kAdcCount - 1] = wb::kAdcMax;  // the frame's last bytes: the kernels must not read past them
  // The frame ends the allocation, so a read past its last byte would be out of bounds (ASan builds see it).
  std::vector<std::byte> bytes(wb::kFrameBytes);
  const wb::MutableFrameView view(bytes.data(), wb::kFrameBytes);
  wb::encode_header(wb::Header{}, view);
  wb::pack_adcs(std::span<const std::uint16_t, wb::kAdcCount>(adc.data(), wb::kAdcCount), view);
  constexpr std::size_t kGuard = 8;  // values after each row that no kernel may touch
  for (const larsel::core::KernelSet set : larsel::test::runnable_kernel_sets()) {
    const wb::UnpackKernel kernel = wb::unpack_kernel(set);
    for (const std::uint8_t blocks : {std::uint8_t{0x96}, std::uint8_t{0x80}, std::uint8_t{0x01}, std::uint8_t{0xFF}, std::uint8_t{0x5A}}) {
      INFO("kernel " << kernel.name << ", blocks " << int{blocks});
      std::vector<std::uint16_t> rows(wb::kChannels * (wb::kSamples + kGuard), 0xFFFF);  // not a 14-bit value
      std::uint16_t* pointers[wb::kChannels];
      for (std::size_t c = 0; c < wb::kChannels; ++c) pointers[c] = rows.data() + c * (wb::kSamples + kGuard);
      kernel.run_rows(view, blocks, pointers);
      std::size_t wrong = 0;
      for (std::size_t c = 0; c < wb::kChannels; ++c) {
        const bool wanted = (blocks >> (c / 8)) & 1;
        for (std::size_t t = 0; t < wb::kSamples + kGuard; ++t) {
          const std::uint16_t expected = wanted && t < wb::kSamples ? adc[t * wb::kChannels + c] : 0xFFFF;
          wrong += pointers[c][t] != expected;
        }
      }
      CHECK(wrong == 0);
    }
  }
}
