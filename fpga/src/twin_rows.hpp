#pragma once
// Sets of rows (or of vectors of outputs) as bits, for the twin's frames whose
// rows mostly equal an empty frame's (twin_run.ipp): which input rows differ,
// which copy rows and output rows follow, what the last frame changed. A few
// words per set: the bookkeeping costs a few hundred instructions a frame.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace larsel::fpga::detail {

class RowSet {
 public:
  void resize(std::size_t size) { size_ = size, words_.assign((size + 63) / 64, 0); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  void clear() noexcept { std::fill(words_.begin(), words_.end(), 0); }
  void fill() noexcept {
    std::fill(words_.begin(), words_.end(), ~std::uint64_t{0});
    if (size_ % 64 != 0) words_.back() = (std::uint64_t{1} << (size_ % 64)) - 1;
  }
  void set(std::size_t i) noexcept { words_[i / 64] |= std::uint64_t{1} << (i % 64); }
  void assign(std::size_t i, bool on) noexcept {
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    words_[i / 64] = on ? words_[i / 64] | bit : words_[i / 64] & ~bit;
  }
  [[nodiscard]] bool test(std::size_t i) const noexcept { return (words_[i / 64] >> (i % 64)) & 1; }
  /// Any member in [first, last] (clipped to the set; empty if first > last).
  [[nodiscard]] bool any(std::ptrdiff_t first, std::ptrdiff_t last) const noexcept {
    first = std::max<std::ptrdiff_t>(first, 0), last = std::min<std::ptrdiff_t>(last, static_cast<std::ptrdiff_t>(size_) - 1);
    for (std::ptrdiff_t w = first / 64; w <= last / 64 && first <= last; ++w) {
      std::uint64_t bits = words_[static_cast<std::size_t>(w)];
      if (w == first / 64) bits &= ~std::uint64_t{0} << (first % 64);
      if (w == last / 64 && last % 64 != 63) bits &= (std::uint64_t{2} << (last % 64)) - 1;
      if (bits != 0) return true;
    }
    return false;
  }
  /// out[r] = any of this set's [r, r + span] (span < 64), for every r.
  void dilate_down(int span, RowSet& out) const noexcept {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      const std::uint64_t here = words_[w], next = w + 1 < words_.size() ? words_[w + 1] : 0;
      std::uint64_t bits = here;
      for (int k = 1; k <= span; ++k) bits |= (here >> k) | (next << (64 - k));
      out.words_[w] = bits;
    }
  }
  /// out[i] = this set's [i - n] (0 for i < n): rows shifted down by n (a zero padding of n rows on top).
  void shift_up(std::size_t n, RowSet& out) const noexcept {
    const std::size_t words = n / 64, bits = n % 64;
    for (std::size_t w = out.words_.size(); w-- > 0;) {
      const std::uint64_t here = w >= words && w - words < words_.size() ? words_[w - words] : 0;
      const std::uint64_t below = w >= words + 1 && w - words - 1 < words_.size() ? words_[w - words - 1] : 0;
      out.words_[w] = bits == 0 ? here : (here << bits) | (below >> (64 - bits));
    }
    out.trim();
  }
  /// out[i] = this set's [k i] (k >= 1): every k-th member.
  void take_every(std::size_t k, RowSet& out) const noexcept {
    if (k == 1) {
      for (std::size_t w = 0; w < out.words_.size(); ++w) out.words_[w] = w < words_.size() ? words_[w] : 0;
    } else if (k == 2) {  // the even bits of two words into one
      for (std::size_t w = 0; w < out.words_.size(); ++w) {
        const std::uint64_t low = 2 * w < words_.size() ? even_bits(words_[2 * w]) : 0;
        const std::uint64_t high = 2 * w + 1 < words_.size() ? even_bits(words_[2 * w + 1]) : 0;
        out.words_[w] = low | high << 32;
      }
    } else {
      out.clear();
      for (std::size_t i = 0; i < out.size_ && k * i < size_; ++i) {
        if (test(k * i)) out.set(i);
      }
    }
    out.trim();
  }
  /// out[i] = this set's [i / m] (m >= 1): every member m times.
  void repeat_each(std::size_t m, RowSet& out) const noexcept {
    out.clear();
    for (std::size_t i = 0; i < out.size_ && i / m < size_; ++i) {
      if (test(i / m)) out.set(i);
    }
  }
  /// Calls f(i) for every i in this set and not in `other` (of the same size).
  template <typename F>
  void for_each_not_in(const RowSet& other, F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      for (std::uint64_t bits = words_[w] & ~other.words_[w]; bits != 0; bits &= bits - 1) {
        f(w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
      }
    }
  }
  /// Calls f(i) for every i in this set.
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      for (std::uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) f(w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
    }
  }

 private:
  /// Bits 0, 2, ..., 62 of x as bits 0-31 (the shift-and-mask compaction, Hacker's Delight 7-4).
  static std::uint64_t even_bits(std::uint64_t x) noexcept {
    x &= 0x5555555555555555u;
    x = (x | x >> 1) & 0x3333333333333333u;
    x = (x | x >> 2) & 0x0f0f0f0f0f0f0f0fu;
    x = (x | x >> 4) & 0x00ff00ff00ff00ffu;
    x = (x | x >> 8) & 0x0000ffff0000ffffu;
    return (x | x >> 16) & 0x00000000ffffffffu;
  }
  void trim() noexcept {
    if (size_ % 64 != 0 && !words_.empty()) words_.back() &= (std::uint64_t{1} << (size_ % 64)) - 1;
  }
  std::size_t size_ = 0;
  std::vector<std::uint64_t> words_;
};

}  // namespace larsel::fpga::detail
