// The xrt backend against the real XRT (Debian's libxrt-dev). This machine and CI have no
// Alveo card, so these tests check that every way of not having one (no xclbin, no card, no
// XRT runtime set up, a bogus xclbin) ends in one clear std::runtime_error line, never in an
// abort or an XRT exception type escaping. With a card at index 0, the bogus xclbin still
// fails, in load_xclbin instead of in opening the device, with the same context.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "larsel/fpga/backend.hpp"
#include "support.hpp"

namespace {

using larsel::fpga::BackendOptions;
using larsel::fpga::make_xrt_backend;

constexpr std::size_t kFrameSize = 1920;  // 30 words of 64 bytes

larsel::models::FixedPointFormat logit_format() {
  larsel::models::FixedPointFormat f;
  f.width = 16, f.integer_bits = 6;
  return f;
}

/// The message of the std::runtime_error that make_xrt_backend(options) throws; fails the test
/// if it returns a backend (or throws something else, which Catch reports).
std::string runtime_error_of(const BackendOptions& options) {
  try {
    auto backend = make_xrt_backend(options, kFrameSize, logit_format());
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("make_xrt_backend returned a backend for xclbin " << options.xclbin << ", device " << options.device_index);
  return {};
}

}  // namespace

TEST_CASE("xrt backend: a missing xclbin is named, before any device is opened", "[xrt]") {
  larsel::test::TempDir dir;
  BackendOptions options;
  options.kind = "xrt";
  options.xclbin = dir / "missing-larsel_cnn.xclbin";
  const std::string message = runtime_error_of(options);
  CHECK_THAT(message, Catch::Contains(options.xclbin.string()));
  CHECK_THAT(message, Catch::Contains("export-hls") && Catch::Contains("v++"));
  CHECK_THAT(message, !Catch::Contains("XRT said"));  // XRT was not asked
  CHECK(message.find('\n') == std::string::npos);

  SECTION("a directory is not an xclbin") {
    options.xclbin = dir.path();
    CHECK_THAT(runtime_error_of(options), Catch::Contains(dir.path().string()));
  }
}

TEST_CASE("xrt backend: a bogus xclbin fails with the device index it looked for", "[xrt]") {
  larsel::test::TempDir dir;
  const auto xclbin = dir / "bogus.xclbin";
  std::ofstream(xclbin, std::ios::binary) << "not an xclbin: no axlf header, no kernels\n";
  BackendOptions options;
  options.kind = "xrt";
  options.xclbin = xclbin;
  // Index 0 is the first card if there is one (then load_xclbin must reject the file); 5 is
  // assumed absent either way.
  options.device_index = GENERATE(0u, 5u);
  CAPTURE(options.device_index);
  const std::string message = runtime_error_of(options);
  INFO(message);
  CHECK_THAT(message, Catch::Contains("device index " + std::to_string(options.device_index)));
  CHECK_THAT(message, Catch::Contains("XRT said: "));  // XRT itself was asked, and its reason kept
  CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("xrt backend: bad sizes are std::invalid_argument", "[xrt]") {
  BackendOptions options;
  options.kind = "xrt";
  options.xclbin = "/nonexistent/larsel_cnn.xclbin";
  CHECK_THROWS_AS(make_xrt_backend(options, 0, logit_format()), std::invalid_argument);
  options.batch_frames = 0;
  CHECK_THROWS_AS(make_xrt_backend(options, kFrameSize, logit_format()), std::invalid_argument);
}
