#include "address.hpp"

#include <charconv>
#include <string>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"

namespace larsel::daq {

boost::asio::ip::udp::endpoint parse_udp_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    throw core::ConfigError(fmt::format("address '{}': expected HOST:PORT, e.g. 127.0.0.1:50000", text));
  }
  std::string host(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    throw core::ConfigError(fmt::format("address '{}': port '{}' is not a number in 0-65535", text, port_text));
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code error;
  const auto address = boost::asio::ip::make_address(host, error);
  if (error) throw core::ConfigError(fmt::format("address '{}': '{}' is not an IP address", text, host));
  return {address, static_cast<unsigned short>(port)};
}

}  // namespace larsel::daq
