#pragma once
// Batched UDP receive: a Boost.Asio socket read with recvmmsg, up to `batch`
// datagrams per system call, into buffers allocated once.
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace larsel::daq {

class UdpReceiver {
 public:
  /// Bind to `listen` ("HOST:PORT"; port 0 picks a free one). Throws
  /// std::runtime_error naming the address when it cannot bind.
  UdpReceiver(std::string_view listen, std::size_t socket_buffer_bytes, std::size_t batch = 64);
  ~UdpReceiver();
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  [[nodiscard]] std::string local_address() const;
  [[nodiscard]] unsigned short port() const;
  /// Kernel receive buffer actually granted, bytes.
  [[nodiscard]] std::size_t socket_buffer_bytes() const;

  /// Wait up to `timeout` for data, then read what is queued (at most
  /// `batch` datagrams). Returns how many were read; see datagram(i).
  std::size_t receive_batch(std::chrono::milliseconds timeout);
  /// Bytes of datagram i of the last batch that fit the buffer.
  [[nodiscard]] std::span<const std::byte> datagram(std::size_t i) const noexcept;
  /// True length of datagram i on the wire (more than datagram(i).size() if it was oversized).
  [[nodiscard]] std::size_t length(std::size_t i) const noexcept;

  /// Receive buffer per datagram: a WIBEth frame plus room to see oversize ones.
  static constexpr std::size_t kBufferBytes = 7200 + 64;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace larsel::daq
