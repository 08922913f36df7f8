#pragma once
// What the fuzz harnesses (tests/fuzz/fuzz_*.cpp) share: a reader that turns the fuzzer's bytes
// into decisions, and the two ways a harness reports a finding. A harness is built twice: with
// clang and libFuzzer (tests/fuzz/CMakeLists.txt, LLVMFuzzerTestOneInput is the entry point), and
// with the main build's compiler into the regression test (test_fuzz_regressions.cpp), which
// replays the committed corpora and every crash input found so far through the same code.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace larsel::fuzz {

/// A finding: an invariant the code under test broke. Aborts, so libFuzzer saves the input (and
/// the regression test fails with this line on stderr).
[[noreturn]] inline void finding(std::string_view what) {
  std::fprintf(stderr, "LARSEL FUZZ FINDING: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

inline void require(bool condition, std::string_view what) {
  if (!condition) finding(what);
}

/// An exception is a clean rejection when it says what is wrong; an empty message is a finding.
inline void require_message(const std::exception& e, std::string_view where) {
  if (std::string_view(e.what()).empty()) finding(std::string(where) + ": an exception without a message");
}

/// Decisions drawn from the fuzzer's bytes, front to back; once they run out every read gives 0
/// (so every input, however short, is a complete program).
class FuzzReader {
 public:
  FuzzReader(const std::uint8_t* data, std::size_t size) : bytes_(data, size) {}

  [[nodiscard]] bool empty() const noexcept { return next_ >= bytes_.size(); }
  [[nodiscard]] std::size_t remaining() const noexcept { return empty() ? 0 : bytes_.size() - next_; }

  std::uint8_t byte() noexcept { return empty() ? 0 : bytes_[next_++]; }
  bool flag() noexcept { return (byte() & 1) != 0; }
  template <typename T>
  T integer() noexcept {
    T value{};
    std::uint8_t raw[sizeof(T)] = {};
    const std::size_t n = std::min(sizeof(T), remaining());
    if (n > 0) std::memcpy(raw, bytes_.data() + next_, n);
    next_ += n;
    std::memcpy(&value, raw, sizeof(T));
    return value;
  }
  /// A value in [low, high] (inclusive).
  std::uint64_t in_range(std::uint64_t low, std::uint64_t high) noexcept {
    const std::uint64_t span = high - low;
    if (span == 0) return low;
    const std::uint64_t raw = span < 256 ? byte() : span < 65536 ? integer<std::uint16_t>() : integer<std::uint64_t>();
    return span == UINT64_MAX ? raw : low + raw % (span + 1);
  }
  /// Up to `limit` bytes (fewer if the input runs out).
  std::span<const std::uint8_t> bytes(std::size_t limit) noexcept {
    const std::size_t n = std::min(limit, remaining());
    const auto out = bytes_.subspan(empty() ? bytes_.size() : next_, n);
    next_ += n;
    return out;
  }
  std::string text(std::size_t limit) {
    const auto b = bytes(limit);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  /// Everything not read yet.
  std::span<const std::uint8_t> rest() noexcept { return bytes(remaining()); }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t next_ = 0;
};

}  // namespace larsel::fuzz

// The harness's body, named per target so that the regression test links all of them; the
// libFuzzer entry point calls it (defined only in the fuzz build, LARSEL_FUZZ_ENTRY).
#if defined(LARSEL_FUZZ_ENTRY)
#define LARSEL_FUZZ_TARGET(function)                                                 \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    function(data, size);                                                            \
    return 0;                                                                        \
  }
#else
#define LARSEL_FUZZ_TARGET(function)
#endif
