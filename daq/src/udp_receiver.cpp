#include "larsel/daq/udp_receiver.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "address.hpp"

namespace larsel::daq {

struct UdpReceiver::Impl {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket socket{io};
  std::vector<std::byte> buffers;
  std::vector<iovec> iovecs;
  std::vector<mmsghdr> messages;
  std::size_t count = 0;
};

UdpReceiver::UdpReceiver(std::string_view listen, std::size_t requested_buffer_bytes, std::size_t batch)
    : impl_(std::make_unique<Impl>()) {
  const auto endpoint = parse_udp_endpoint(listen);
  boost::system::error_code error;
  impl_->socket.open(endpoint.protocol(), error);
  if (!error) impl_->socket.bind(endpoint, error);
  if (error) throw std::runtime_error(fmt::format("cannot listen on UDP {}: {}", listen, error.message()));
  // SO_RCVBUFFORCE (root) may exceed net.core.rmem_max; fall back to SO_RCVBUF.
  const int size = static_cast<int>(std::min<std::size_t>(requested_buffer_bytes, 1u << 30));
  const int fd = impl_->socket.native_handle();
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  // The kernel reports twice the usable size it granted (socket(7)).
  if (socket_buffer_bytes() / 2 < static_cast<std::size_t>(size)) {
    spdlog::warn("UDP {}: receive buffer is {} bytes, less than the {} requested (raise net.core.rmem_max or run as root)",
                 listen, socket_buffer_bytes() / 2, size);
  }
  batch = std::max<std::size_t>(batch, 1);
  impl_->buffers.resize(batch * kBufferBytes);
  impl_->iovecs.resize(batch);
  impl_->messages.resize(batch);
  for (std::size_t i = 0; i < batch; ++i) {
    impl_->iovecs[i] = {impl_->buffers.data() + i * kBufferBytes, kBufferBytes};
    impl_->messages[i].msg_hdr.msg_iov = &impl_->iovecs[i];
    impl_->messages[i].msg_hdr.msg_iovlen = 1;
  }
}

UdpReceiver::~UdpReceiver() = default;

std::string UdpReceiver::local_address() const {
  const auto ep = impl_->socket.local_endpoint();
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

unsigned short UdpReceiver::port() const { return impl_->socket.local_endpoint().port(); }

std::size_t UdpReceiver::socket_buffer_bytes() const {
  int size = 0;
  socklen_t len = sizeof size;
  ::getsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVBUF, &size, &len);
  return static_cast<std::size_t>(size);
}

std::size_t UdpReceiver::receive_batch(std::chrono::milliseconds timeout) {
  impl_->count = 0;
  const int fd = impl_->socket.native_handle();
  // Try without waiting first: under load data is already queued.
  int n = ::recvmmsg(fd, impl_->messages.data(), static_cast<unsigned>(impl_->messages.size()), MSG_DONTWAIT | MSG_TRUNC, nullptr);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return 0;
    n = ::recvmmsg(fd, impl_->messages.data(), static_cast<unsigned>(impl_->messages.size()), MSG_DONTWAIT | MSG_TRUNC, nullptr);
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    throw std::runtime_error(fmt::format("UDP receive on {} failed: {}", local_address(), std::strerror(errno)));
  }
  impl_->count = static_cast<std::size_t>(n);
  return impl_->count;
}

std::span<const std::byte> UdpReceiver::datagram(std::size_t i) const noexcept {
  const std::size_t length = std::min<std::size_t>(impl_->messages[i].msg_len, kBufferBytes);
  return {impl_->buffers.data() + i * kBufferBytes, length};
}

std::size_t UdpReceiver::length(std::size_t i) const noexcept { return impl_->messages[i].msg_len; }

}  // namespace larsel::daq
