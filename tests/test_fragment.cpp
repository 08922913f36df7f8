// DUNE-DAQ FragmentHeader parsing and where frames sit in a file.
#include <catch2/catch.hpp>

#include "larsel/core/errors.hpp"
#include "larsel/daq/fragment.hpp"
#include "larsel/daq/wibeth.hpp"
#include "support.hpp"

using namespace larsel::daq;

TEST_CASE("the fixture's FragmentHeader decodes to its documented fields", "[fragment][fixture]") {
  const auto dir = larsel::test::fixture_dir();
  if (!dir) return;
  const auto bytes = larsel::test::read_bytes(*dir / "wibeth_fragment.bin");
  REQUIRE(bytes.size() == 14472);
  const WibEthBuffer buffer = locate_wibeth_frames(bytes, "fixture");
  REQUIRE(buffer.fragment.has_value());
  const FragmentHeader& h = *buffer.fragment;
  CHECK(h.marker == 0x11112222);
  CHECK(h.version == 5);
  CHECK(h.size == 669672);  // the original 93-frame fragment: trusted less than the byte length
  CHECK(h.trigger_number == 8);
  CHECK(h.run_number == 27980);
  CHECK(h.fragment_type == 12);
  CHECK(h.detector_id == 3);
  CHECK(h.source_version == 2);
  CHECK(h.source_subsystem == 1);
  CHECK(h.source_id == 0x64);
  CHECK(h.window_end - h.window_begin == 187500);
  CHECK(buffer.frame_count == 2);
  REQUIRE(buffer.warnings.size() == 1);
  CHECK_THAT(buffer.warnings[0], Catch::Contains("669672") && Catch::Contains("trusting the byte length"));

  SECTION("the same frames without the header are read as a plain concatenation") {
    const std::span<const std::byte> plain(bytes.data() + kFragmentHeaderBytes, bytes.size() - kFragmentHeaderBytes);
    const WibEthBuffer raw = locate_wibeth_frames(plain, "raw");
    CHECK_FALSE(raw.fragment.has_value());
    CHECK(raw.frame_count == 2);
    CHECK(raw.warnings.empty());
  }
}

TEST_CASE("FragmentHeader encode/decode round trip", "[fragment]") {
  FragmentHeader h;
  h.size = 72 + 3 * 7200;
  h.trigger_number = 0x0102030405060708ULL;
  h.trigger_timestamp = 42;
  h.window_begin = 1000;
  h.window_end = 3048;
  h.run_number = 27980;
  h.error_bits = 0b101;
  h.sequence_number = 7;
  h.source_id = 0xDEADBEEF;
  std::array<std::byte, kFragmentHeaderBytes> bytes{};
  encode_fragment_header(h, bytes);
  CHECK(decode_fragment_header(bytes) == h);
}

TEST_CASE("garbage files get clear errors", "[fragment]") {
  std::vector<std::byte> bytes(7200 * 2 + 5);
  CHECK_THROWS_MATCHES(locate_wibeth_frames(bytes, "odd.bin"), larsel::core::FormatError,
                       Catch::Matchers::Message("odd.bin: file of 14405 bytes is not a whole number of 7200-byte "
                                                "WIBEth frames (2 frames + 5 bytes)"));
  CHECK_THROWS_WITH(locate_wibeth_frames({}, "empty.bin"), Catch::Contains("empty.bin: no WIBEth frames"));

  FragmentHeader h;
  std::vector<std::byte> fragment(kFragmentHeaderBytes + 100);
  encode_fragment_header(h, std::span<std::byte, kFragmentHeaderBytes>(fragment.data(), kFragmentHeaderBytes));
  CHECK_THROWS_WITH(locate_wibeth_frames(fragment, "short.frag"),
                    Catch::Contains("fragment payload of 100 bytes is not a whole number"));
  fragment.resize(kFragmentHeaderBytes);
  CHECK_THROWS_WITH(locate_wibeth_frames(fragment, "hdr.frag"), Catch::Contains("after the 72-byte FragmentHeader"));

  h.fragment_type = 6;
  fragment.resize(kFragmentHeaderBytes + 7200);
  encode_fragment_header(h, std::span<std::byte, kFragmentHeaderBytes>(fragment.data(), kFragmentHeaderBytes));
  CHECK_THROWS_WITH(locate_wibeth_frames(fragment, "tp.frag"), Catch::Contains("TriggerPrimitive data (fragment_type 6)"));
}
