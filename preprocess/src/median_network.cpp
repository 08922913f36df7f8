#include "median_network.hpp"

#include <stdexcept>
#include <string>

namespace larsel::preprocess {
MedianNetwork::MedianNetwork(std::size_t inputs) : inputs_(inputs) {
  if (inputs == 0 || inputs > kMaxInputs) {
    throw std::invalid_argument("median network: " + std::to_string(inputs) + " inputs (must be 1-128)");
  }
  steps_ = network_detail::median_steps(inputs, lower_slot_, upper_slot_);
}

}  // namespace larsel::preprocess
