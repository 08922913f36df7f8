#pragma once
#include <string_view>

#include <boost/asio/ip/udp.hpp>

namespace larsel::daq {

/// "HOST:PORT" (IPv4 dotted quad, "localhost" or [IPv6]) -> endpoint.
/// Throws core::ConfigError saying what was wrong with `text`.
boost::asio::ip::udp::endpoint parse_udp_endpoint(std::string_view text);

}  // namespace larsel::daq
