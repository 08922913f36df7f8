#include "larsel/models/model.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace larsel::models {

Model::Model(Architecture architecture, Shape input, std::uint64_t seed)
    : architecture_(std::move(architecture)), input_(input), network_(build_network(architecture_, input, seed)) {}

Model Model::clone() {
  Model copy(architecture_, input_, 0);
  copy.copy_state_from(*this);
  return copy;
}

void Model::copy_state_from(Model& other) {
  const std::vector<Parameter> from = other.network_.state(), to = network_.state();
  if (from.size() != to.size()) throw std::invalid_argument("model: cannot copy the state of a different architecture");
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (from[i].values->size() != to[i].values->size()) {
      throw std::invalid_argument(fmt::format("model: {} has {} values here and {} in the source", to[i].name,
                                              to[i].values->size(), from[i].values->size()));
    }
    std::copy(from[i].values->begin(), from[i].values->end(), to[i].values->begin());
  }
}

void fill_batch(const ImageSet& set, std::span<const std::size_t> indices, float input_scale, Batch& batch) {
  batch.reshape(static_cast<int>(indices.size()), set.shape);
  const std::size_t pixels = set.shape.size();
  for (std::size_t s = 0; s < indices.size(); ++s) {
    const std::span<const std::uint8_t> image = set.image(indices[s]);
    float* out = batch.values.data() + s * pixels;
    for (std::size_t p = 0; p < pixels; ++p) out[p] = static_cast<float>(image[p]) * input_scale;
  }
}

namespace {

constexpr std::size_t kInferenceBatch = 256;

/// Logits of indices[first, last) in steps of kInferenceBatch, written to out[first, last).
void logits_range(Network& network, float scale, const ImageSet& set, std::span<const std::size_t> indices,
                  std::size_t first, std::size_t last, std::vector<float>& out) {
  Batch batch;
  for (std::size_t begin = first; begin < last; begin += kInferenceBatch) {
    const std::size_t end = std::min(last, begin + kInferenceBatch);
    fill_batch(set, indices.subspan(begin, end - begin), scale, batch);
    const Batch& result = network.forward(batch, false);
    std::copy(result.values.begin(), result.values.end(), out.begin() + static_cast<std::ptrdiff_t>(begin));
  }
}

}  // namespace

std::vector<float> Model::logits(const ImageSet& set, std::span<const std::size_t> indices, unsigned threads) {
  if (!(set.shape == input_)) {
    throw std::invalid_argument(fmt::format("model takes {}x{} images, the data has {}x{}", input_.height, input_.width,
                                            set.shape.height, set.shape.width));
  }
  std::vector<float> out(indices.size());
  const std::size_t workers = std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(1, indices.size() / kInferenceBatch));
  std::vector<Model> replicas;
  for (std::size_t w = 1; w < workers; ++w) replicas.push_back(clone());
  std::vector<std::exception_ptr> failures(workers);
  std::vector<std::jthread> pool;
  const auto range = [&](std::size_t w) { return std::pair(indices.size() * w / workers, indices.size() * (w + 1) / workers); };
  for (std::size_t w = 1; w < workers; ++w) {
    pool.emplace_back([&, w] {
      try {
        const auto [first, last] = range(w);
        logits_range(replicas[w - 1].network_, architecture_.input_scale, set, indices, first, last, out);
      } catch (...) {
        failures[w] = std::current_exception();
      }
    });
  }
  try {
    const auto [first, last] = range(0);
    logits_range(network_, architecture_.input_scale, set, indices, first, last, out);
  } catch (...) {
    failures[0] = std::current_exception();
  }
  pool.clear();  // joins
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
  return out;
}

}  // namespace larsel::models
