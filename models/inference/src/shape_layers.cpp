// Layers without parameters: ReLU, pooling and flatten.
#include <algorithm>
#include <functional>

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

/// Reduces each window row by row: y[ox] = op over the window of x; rows of a
/// window are combined in order, so the loops run over contiguous memory.
template <typename Combine>
void pool_rows(std::span<const float> x, std::span<float> y, Shape in, Shape out, int wh, int ww, Combine combine) {
  for (int c = 0; c < out.channels; ++c) {
    for (int oy = 0; oy < out.height; ++oy) {
      float* row_out = y.data() + (c * out.height + oy) * out.width;
      for (int dy = 0; dy < wh; ++dy) {
        const float* row_in = x.data() + (c * in.height + oy * wh + dy) * in.width;
        for (int ox = 0; ox < out.width; ++ox) {
          float v = row_in[ox * ww];
          for (int dx = 1; dx < ww; ++dx) v = combine(v, row_in[ox * ww + dx]);
          row_out[ox] = dy == 0 ? v : combine(row_out[ox], v);
        }
      }
    }
  }
}

}  // namespace

void Pool2D::forward(const Batch& in, Batch& out, bool /*training*/) {
  detail::check_batch(in, input_, "pool input");
  out.reshape(in.count, output_);
  for (int n = 0; n < in.count; ++n) {
    if (pool_ == PoolKind::max) {
      pool_rows(in.sample(n), out.sample(n), input_, output_, window_height_, window_width_,
                [](float a, float b) { return std::max(a, b); });
    } else {
      pool_rows(in.sample(n), out.sample(n), input_, output_, window_height_, window_width_, std::plus<>());
    }
  }
  if (pool_ == PoolKind::average) {
    const float inverse_area = 1.0f / static_cast<float>(window_height_ * window_width_);
    for (float& v : out.values) v *= inverse_area;
  }
}

void Pool2D::backward(const Batch& in, const Batch& grad_out, Batch& grad_in) {
  detail::check_batch(grad_out, output_, "pool output gradient");
  grad_in.reshape(in.count, input_);
  std::fill(grad_in.values.begin(), grad_in.values.end(), 0.0f);
  const float inverse_area = 1.0f / static_cast<float>(window_height_ * window_width_);
  const int wh = window_height_, ww = window_width_, width = input_.width;
  for (int n = 0; n < in.count; ++n) {
    const auto x = in.sample(n);
    const auto g = grad_out.sample(n);
    const auto d = grad_in.sample(n);
    for (int c = 0; c < output_.channels; ++c) {
      for (int oy = 0; oy < output_.height; ++oy) {
        for (int ox = 0; ox < output_.width; ++ox) {
          const float gradient = g[static_cast<std::size_t>((c * output_.height + oy) * output_.width + ox)];
          const std::size_t corner = static_cast<std::size_t>((c * input_.height + oy * wh) * width + ox * ww);
          std::size_t best = corner;  // the first maximum of the window gets the gradient
          for (int dy = 0; dy < wh; ++dy) {
            for (int dx = 0; dx < ww; ++dx) {
              const std::size_t i = corner + static_cast<std::size_t>(dy * width + dx);
              if (pool_ == PoolKind::average) {
                d[i] = gradient * inverse_area;
              } else if (x[i] > x[best]) {
                best = i;
              }
            }
          }
          if (pool_ == PoolKind::max) d[best] += gradient;
        }
      }
    }
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
