#include "larsel/preprocess/preprocessor.hpp"

#include <algorithm>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

#include "fused_common.hpp"
#include "kernel.hpp"
#include "larsel/core/kernel_set.hpp"
#include "larsel/core/errors.hpp"

namespace larsel::preprocess {

namespace detail {

KernelPlan::KernelPlan(const PreprocessConfig& c) : config(c) {
  if (Frame::kWires % c.downsize.wires != 0 || Frame::kTicks % c.downsize.ticks != 0) {
    throw core::ConfigError(fmt::format("downsize: {} x {} does not divide 480 x 64", c.downsize.wires, c.downsize.ticks));
  }
  if (c.coherent.enabled) {
    const unsigned size = c.coherent.group_wires;
    if (size < 2 || size > MedianNetwork::kMaxInputs) {
      throw core::ConfigError(fmt::format("coherent.group_wires: {} is outside [2, {}]", size, MedianNetwork::kMaxInputs));
    }
    const unsigned last = Frame::kWires % size;  // a shorter last group if size does not divide 480
    networks.reserve(2);
    networks.emplace_back(size);
    if (last != 0) networks.emplace_back(last);
    for (unsigned first = 0; first < Frame::kWires; first += size) {
      const unsigned wires = std::min<unsigned>(size, Frame::kWires - first);
      groups.push_back({static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(wires),
                        wires == size ? &networks.front() : &networks.back()});
    }
  }
  if (c.fir.enabled) {
    fir_taps.assign(c.fir.taps.begin(), c.fir.taps.end());
    fir_centre = static_cast<unsigned>((fir_taps.size() - 1) / 2);
  }
}

}  // namespace detail

namespace {

struct KernelChoice {
  detail::FrameKernel kernel;
  detail::FrameMedians medians;  // the same kernel set's frame medians
  const char* name;
  core::KernelSet set;
};

/// Every kernel this CPU can run `config` with, fastest first, scalar last.
std::vector<KernelChoice> kernels_for(const PreprocessConfig& config) {
  using core::KernelSet;
  std::vector<KernelChoice> kernels;
  if (core::cpu_supports(KernelSet::avx512)) {
    if (detail::fused_kernel_supports(config)) {
      kernels.push_back({detail::avx512::fused_frame, detail::avx512::frame_medians, "avx512-fused", KernelSet::avx512});
    }
    kernels.push_back({detail::avx512::vector_frame, detail::avx512::frame_medians, "avx512", KernelSet::avx512});
  }
  if (core::cpu_supports(KernelSet::avx2)) {
    if (detail::fused_kernel_supports(config)) {
      kernels.push_back({detail::avx2::fused_frame, detail::avx2::frame_medians, "avx2-fused", KernelSet::avx2});
    }
    kernels.push_back({detail::avx2::vector_frame, detail::avx2::frame_medians, "avx2", KernelSet::avx2});
  }
  kernels.push_back({detail::baseline::vector_frame, detail::baseline::frame_medians, "baseline", KernelSet::baseline});
  kernels.push_back({detail::scalar_frame, detail::scalar_frame_medians, "scalar", KernelSet::baseline});
  return kernels;
}

/// The fastest kernel of `set` or below.
KernelChoice choose_kernel(core::KernelSet set, const PreprocessConfig& config) {
  if (!core::cpu_supports(set)) {
    throw std::invalid_argument(fmt::format("preprocess: this CPU cannot run the {} kernels", core::name(set)));
  }
  const std::vector<KernelChoice> kernels = kernels_for(config);
  return *std::find_if(kernels.begin(), kernels.end(), [&](const KernelChoice& k) { return k.set <= set; });
}

/// The scalar reference, or the fastest kernel of the kernel set this process runs (LARSEL_KERNELS may cap it).
KernelChoice choose_kernel(Implementation implementation, const PreprocessConfig& config) {
  if (implementation == Implementation::scalar) return kernels_for(config).back();
  return choose_kernel(core::selected_kernel_set(), config);
}

KernelChoice choose_kernel(std::string_view name, const PreprocessConfig& config) {
  for (const KernelChoice& k : kernels_for(config)) {
    if (name == k.name) return k;
  }
  throw std::invalid_argument(fmt::format("preprocess: kernel '{}' is not available for this configuration on this CPU", name));
}

void check_size(std::span<const std::int16_t> s, const char* name) {
  if (!s.empty() && s.size() != Frame::kPixels) {
    throw std::invalid_argument(fmt::format("preprocess: {} output holds {} values, expected 480 x 64 = 30720", name, s.size()));
  }
}

/// Kernel working memory, aligned for the widest vector type the kernels use.
struct AlignedFree {
  void operator()(std::byte* p) const noexcept { ::operator delete(p, std::align_val_t{kScratchAlignment}); }
  static constexpr std::size_t kScratchAlignment = 256;
};
std::unique_ptr<std::byte, AlignedFree> allocate_scratch() {
  return std::unique_ptr<std::byte, AlignedFree>(
      static_cast<std::byte*>(::operator new(detail::kScratchBytes, std::align_val_t{AlignedFree::kScratchAlignment})));
}

}  // namespace

struct Preprocessor::Impl {
  Impl(const PreprocessConfig& config, Implementation which, KernelChoice kernel)
      : plan(config), implementation(which), choice(kernel), scratch(allocate_scratch()) {}
  detail::KernelPlan plan;
  Implementation implementation;
  KernelChoice choice;
  ChannelState state;
  detail::FrameStatistics stats;
  std::unique_ptr<std::byte, AlignedFree> scratch;
};

Preprocessor::Preprocessor(const PreprocessConfig& config, Implementation implementation)
    : impl_(std::make_unique<Impl>(config, implementation, choose_kernel(implementation, config))) {}
Preprocessor::Preprocessor(const PreprocessConfig& config, std::string_view kernel)
    : impl_(std::make_unique<Impl>(config, kernel == "scalar" ? Implementation::scalar : Implementation::optimised,
                                   choose_kernel(kernel, config))) {}
Preprocessor::Preprocessor(const PreprocessConfig& config, core::KernelSet kernels)
    : impl_(std::make_unique<Impl>(config, Implementation::optimised, choose_kernel(kernels, config))) {}
Preprocessor::~Preprocessor() = default;
Preprocessor::Preprocessor(Preprocessor&&) noexcept = default;
Preprocessor& Preprocessor::operator=(Preprocessor&&) noexcept = default;

void Preprocessor::process(FrameAdc adc, const FrameOutputs& outputs) {
  Impl& m = *impl_;
  if (outputs.image.size() != m.plan.config.output_pixels()) {
    throw std::invalid_argument(fmt::format("preprocess: image output holds {} values, expected {} x {}",
                                            outputs.image.size(), m.plan.config.output_rows(), m.plan.config.output_columns()));
  }
  check_size(outputs.denoised, "denoised");
  check_size(outputs.filtered, "filtered");
  if (!m.state.initialised) {
    detail::initialise_channels(m.plan.config, adc, m.choice.medians, m.state);
  } else if (m.plan.config.pedestal.method == PedestalMethod::frame_median) {
    m.choice.medians(adc, m.state.pedestal);
  }
  m.choice.kernel(m.plan, m.state, adc, outputs, m.stats, m.scratch.get());
}

void Preprocessor::reset() noexcept { impl_->state.initialised = false; }
const ChannelState& Preprocessor::channels() const noexcept { return impl_->state; }
const PreprocessConfig& Preprocessor::config() const noexcept { return impl_->plan.config; }
Implementation Preprocessor::implementation() const noexcept { return impl_->implementation; }
const char* Preprocessor::kernel_name() const noexcept { return impl_->choice.name; }
std::vector<std::string> Preprocessor::available_kernels(const PreprocessConfig& config) {
  std::vector<std::string> names;
  for (const KernelChoice& k : kernels_for(config)) names.emplace_back(k.name);
  return names;
}

}  // namespace larsel::preprocess
