#pragma once
// hls::stream for C simulation: an unbounded FIFO (reference §3). Reading an
// empty stream is a kernel bug: it throws, naming the stream, where Vitis csim
// would print a warning and hand back an undefined value.
#include <deque>
#include <stdexcept>
#include <string>

namespace hls {

template <typename T>
class stream {
 public:
  stream() = default;
  explicit stream(const char* name) : name_(name) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  void write(const T& value) { fifo_.push_back(value); }
  T read() {
    if (fifo_.empty()) throw std::runtime_error("hls::stream '" + name_ + "': read while empty");
    T value = fifo_.front();
    fifo_.pop_front();
    return value;
  }
  void read(T& value) { value = read(); }
  bool read_nb(T& value) {
    if (fifo_.empty()) return false;
    value = read();
    return true;
  }
  bool write_nb(const T& value) { return write(value), true; }
  [[nodiscard]] bool empty() const { return fifo_.empty(); }
  [[nodiscard]] bool full() const { return false; }
  [[nodiscard]] std::size_t size() const { return fifo_.size(); }
  stream& operator<<(const T& value) { return write(value), *this; }
  stream& operator>>(T& value) { return read(value), *this; }

 private:
  std::string name_ = "unnamed";
  std::deque<T> fifo_;
};

}  // namespace hls
