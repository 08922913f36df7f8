#pragma once
// Kernel sets: the instruction-set levels LArSel's hot paths (WIBEth unpack,
// preprocess, the FPGA twin) are compiled for, each into its own namespace
// (cmake/LarselKernels.cmake, larsel/core/isa_region.hpp). One binary holds
// them all; each hot path runs the highest set that both the CPU and the
// selection allow, falling back to a lower one where it has no kernel of that
// level.
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace larsel::core {

/// Lowest first; every set includes the ones before it.
enum class KernelSet {
  baseline,    // x86-64 (SSE2): runs on any 64-bit x86 CPU
  avx2,        // x86-64-v3: AVX2, FMA, BMI1/2, LZCNT, MOVBE (Haswell, Zen 1-3: DUNE's EPYC 7763)
  avx512,      // x86-64-v4: AVX-512 F, BW, CD, DQ, VL (Skylake-SP and later)
  avx512vnni,  // avx512 + VNNI and VBMI (Ice Lake, Sapphire Rapids, Zen 4 and later)
};

inline constexpr KernelSet kKernelSets[] = {KernelSet::baseline, KernelSet::avx2, KernelSet::avx512, KernelSet::avx512vnni};

[[nodiscard]] std::string_view name(KernelSet set) noexcept;
/// "baseline", "avx2", "avx512", "avx512vnni"; nullopt for anything else.
[[nodiscard]] std::optional<KernelSet> parse_kernel_set(std::string_view text) noexcept;

/// The CPU features `set` needs that this CPU (with this OS: register state enabled) lacks; empty if it runs it.
[[nodiscard]] std::vector<std::string> missing_features(KernelSet set);
[[nodiscard]] inline bool cpu_supports(KernelSet set) { return missing_features(set).empty(); }
/// The highest set this CPU runs.
[[nodiscard]] KernelSet best_kernel_set();

/// The environment variable that caps the kernel set for a whole process (and the processes it starts).
inline constexpr const char* kKernelSetVariable = "LARSEL_KERNELS";

/// The kernel set hot paths use: the best this CPU runs, or LARSEL_KERNELS when set (to measure a lower set's
/// kernels on a machine that has a better one). std::runtime_error, in one line, if LARSEL_KERNELS names no set
/// or one this CPU cannot run.
[[nodiscard]] KernelSet selected_kernel_set();

/// The first of `available` (kernel sets a hot path has kernels for, any order) that is at most `selected`:
/// the kernel to run. `available` must hold baseline.
[[nodiscard]] KernelSet highest_at_most(KernelSet selected, std::initializer_list<KernelSet> available) noexcept;

}  // namespace larsel::core
