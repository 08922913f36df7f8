#pragma once
// Shape checks shared by the layers: a wrong shape is a programming or
// model-file error, reported with both shapes.
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/models/tensor.hpp"

namespace larsel::models::detail {

inline void check_batch(const Batch& b, Shape expected, const char* what) {
  if (!(b.shape == expected) || b.values.size() != static_cast<std::size_t>(b.count) * expected.size()) {
    throw std::invalid_argument(fmt::format("{}: got {}x{}x{}, expected {}x{}x{}", what, b.shape.channels, b.shape.height,
                                            b.shape.width, expected.channels, expected.height, expected.width));
  }
}

}  // namespace larsel::models::detail
