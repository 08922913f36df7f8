// Layers without parameters: ReLU, pooling and flatten.
#include <algorithm>

#include <fmt/format.h>

#include "batch_checks.hpp"
#include "larsel/models/layers.hpp"

namespace larsel::models {

void ReLU::forward(const Batch& in, Batch& out, bool /*training*/) {
  detail::check_batch(in, shape_, "relu input");
  out.reshape(in.count, shape_);
  std::transform(in.values.begin(), in.values.end(), out.values.begin(), [](float v) { return v > 0.0f ? v : 0.0f; });
}

void ReLU::backward(const Batch& in, const Batch& grad_out, Batch& grad_in) {
  detail::check_batch(grad_out, shape_, "relu output gradient");
  grad_in.reshape(in.count, shape_);
  for (std::size_t i = 0; i < in.values.size(); ++i) grad_in.values[i] = in.values[i] > 0.0f ? grad_out.values[i] : 0.0f;
}

Pool2D::Pool2D(Shape input, PoolKind pool, int window_height, int window_width)
    : input_(input), pool_(pool), window_height_(window_height), window_width_(window_width) {
  if (window_height < 1 || window_width < 1 || window_height > input.height || window_width > input.width) {
    throw std::invalid_argument(fmt::format("pool: a {}x{} window does not fit a {}x{} input", window_height,
                                            window_width, input.height, input.width));
  }
  output_ = {input.channels, input.height / window_height, input.width / window_width};
}

namespace {

/// Calls visit(in_index, out_index) for every input element in a window, window by window.
template <typename Visit>
void for_each_window(Shape in, Shape out, int wh, int ww, Visit&& visit) {
  for (int c = 0; c < out.channels; ++c) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        const std::size_t o = static_cast<std::size_t>((c * out.height + y) * out.width + x);
        for (int dy = 0; dy < wh; ++dy) {
          for (int dx = 0; dx < ww; ++dx) {
            visit(static_cast<std::size_t>((c * in.height + y * wh + dy) * in.width + x * ww + dx), o, dy == 0 && dx == 0);
          }
        }
      }
    }
  }
}

}  // namespace

void Pool2D::forward(const Batch& in, Batch& out, bool /*training*/) {
  detail::check_batch(in, input_, "pool input");
  out.reshape(in.count, output_);
  const float inverse_area = 1.0f / static_cast<float>(window_height_ * window_width_);
  for (int n = 0; n < in.count; ++n) {
    const auto x = in.sample(n);
    const auto y = out.sample(n);
    for_each_window(input_, output_, window_height_, window_width_, [&](std::size_t i, std::size_t o, bool first) {
      if (pool_ == PoolKind::max) {
        y[o] = first ? x[i] : std::max(y[o], x[i]);
      } else {
        y[o] = (first ? 0.0f : y[o]) + x[i] * inverse_area;
      }
    });
  }
}

void Pool2D::backward(const Batch& in, const Batch& grad_out, Batch& grad_in) {
  detail::check_batch(grad_out, output_, "pool output gradient");
  grad_in.reshape(in.count, input_);
  std::fill(grad_in.values.begin(), grad_in.values.end(), 0.0f);
  const float inverse_area = 1.0f / static_cast<float>(window_height_ * window_width_);
  std::vector<std::size_t> argmax(output_.size());  // the first maximum of each window gets the gradient
  for (int n = 0; n < in.count; ++n) {
    const auto x = in.sample(n);
    const auto g = grad_out.sample(n);
    const auto d = grad_in.sample(n);
    if (pool_ == PoolKind::average) {
      for_each_window(input_, output_, window_height_, window_width_,
                      [&](std::size_t i, std::size_t o, bool) { d[i] = g[o] * inverse_area; });
      continue;
    }
    for_each_window(input_, output_, window_height_, window_width_, [&](std::size_t i, std::size_t o, bool first) {
      if (first || x[i] > x[argmax[o]]) argmax[o] = i;
    });
    for (std::size_t o = 0; o < argmax.size(); ++o) d[argmax[o]] += g[o];
  }
}

void Flatten::forward(const Batch& in, Batch& out, bool /*training*/) {
  detail::check_batch(in, input_, "flatten input");
  out.reshape(in.count, output_shape());
  std::copy(in.values.begin(), in.values.end(), out.values.begin());
}

void Flatten::backward(const Batch& in, const Batch& grad_out, Batch& grad_in) {
  detail::check_batch(grad_out, output_shape(), "flatten output gradient");
  grad_in.reshape(in.count, input_);
  std::copy(grad_out.values.begin(), grad_out.values.end(), grad_in.values.begin());
}

}  // namespace larsel::models
