#pragma once
// Exceptions thrown at the boundaries of the daq module.
#include <stdexcept>
#include <string>

namespace larsel::core {

/// Input bytes (a file, a datagram, a map) do not follow the format they claim.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A configuration value is out of range or inconsistent.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace larsel::core
