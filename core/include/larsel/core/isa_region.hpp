#pragma once
// The one way LArSel compiles code for an instruction set (see
// docs/architecture.md, "Kernel sets"). A per-ISA source is listed with
// larsel_add_kernel_sources() (cmake/LarselKernels.cmake), which compiles it
// once per kernel set with LARSEL_ISA defined to the set's name (baseline,
// avx2, avx512, avx512vnni) and LARSEL_ISA_LEVEL to its rank (0-3), and with
// no instruction-set flags on the command line. The source:
//   1. includes every header it needs first, then this one;
//   2. opens LARSEL_ISA_BEGIN, then its namespace ending in ::LARSEL_ISA
//      (kernel-body fragments, *.ipp, are included inside it: they include
//      nothing themselves), and closes with LARSEL_ISA_END.
// LARSEL_ISA_BEGIN is a `#pragma GCC target`: only functions defined after it
// get the set's instructions. Inline functions and templates defined in the
// headers above it (the standard library's, Eigen's, ours) keep the baseline
// target wherever they are instantiated, so the copy of a shared inline
// function the linker keeps never holds instructions another CPU lacks (with
// -mavx512f on the command line, it could: the ODR trap of issue 17). Code
// inside the region lives in the ::LARSEL_ISA namespace, so no two sets'
// functions share a name. scripts/check-kernel-isolation.py proves it on the
// binary and on the per-ISA objects of any build type.
#include "larsel/core/kernel_set.hpp"

#if !defined(LARSEL_ISA) || !defined(LARSEL_ISA_LEVEL)
#error "larsel/core/isa_region.hpp is for sources listed with larsel_add_kernel_sources() (LARSEL_ISA, LARSEL_ISA_LEVEL)"
#endif

// The target options of each set (GCC names; the same features core::missing_features checks at run time).
// prefer-vector-width=512: the auto-vectoriser may use zmm (generic tuning would pick 256 bits).
#define LARSEL_ISA_TARGET_avx2 "avx2,fma,bmi,bmi2,lzcnt,popcnt,f16c,movbe"
#define LARSEL_ISA_TARGET_avx512 \
  "avx2,fma,bmi,bmi2,lzcnt,popcnt,f16c,movbe,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,prefer-vector-width=512"
#define LARSEL_ISA_TARGET_avx512vnni \
  "avx2,fma,bmi,bmi2,lzcnt,popcnt,f16c,movbe,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx512vnni,avx512vbmi,prefer-vector-width=512"

#define LARSEL_ISA_PRAGMA(text) _Pragma(#text)
#if defined(__clang__)
// Clang ignores `#pragma GCC target`; its equivalent gives every function declared in the region the
// target attribute (the fuzz build, tests/fuzz, compiles the kernels with clang). Clang has no
// prefer-vector-width target option: its sets are GCC's without it.
#define LARSEL_ISA_CLANG_TARGET_PRAGMA(options) \
  LARSEL_ISA_PRAGMA(clang attribute push(__attribute__((target(options))), apply_to = function))
#define LARSEL_ISA_CLANG_avx512 "avx2,fma,bmi,bmi2,lzcnt,popcnt,f16c,movbe,avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
#if LARSEL_ISA_LEVEL == 0
#define LARSEL_ISA_BEGIN
#define LARSEL_ISA_END
#elif LARSEL_ISA_LEVEL == 1
#define LARSEL_ISA_BEGIN LARSEL_ISA_CLANG_TARGET_PRAGMA(LARSEL_ISA_TARGET_avx2)
#elif LARSEL_ISA_LEVEL == 2
#define LARSEL_ISA_BEGIN LARSEL_ISA_CLANG_TARGET_PRAGMA(LARSEL_ISA_CLANG_avx512)
#elif LARSEL_ISA_LEVEL == 3
#define LARSEL_ISA_BEGIN LARSEL_ISA_CLANG_TARGET_PRAGMA(LARSEL_ISA_CLANG_avx512 ",avx512vnni,avx512vbmi")
#else
#error "LARSEL_ISA_LEVEL must be 0-3"
#endif
#if LARSEL_ISA_LEVEL > 0
#define LARSEL_ISA_END _Pragma("clang attribute pop")
#endif
#else
#define LARSEL_ISA_TARGET_PRAGMA(options) LARSEL_ISA_PRAGMA(GCC target(options))

#if LARSEL_ISA_LEVEL == 0
#define LARSEL_ISA_BEGIN _Pragma("GCC push_options")
#elif LARSEL_ISA_LEVEL == 1
#define LARSEL_ISA_BEGIN _Pragma("GCC push_options") LARSEL_ISA_TARGET_PRAGMA(LARSEL_ISA_TARGET_avx2)
#elif LARSEL_ISA_LEVEL == 2
#define LARSEL_ISA_BEGIN _Pragma("GCC push_options") LARSEL_ISA_TARGET_PRAGMA(LARSEL_ISA_TARGET_avx512)
#elif LARSEL_ISA_LEVEL == 3
#define LARSEL_ISA_BEGIN _Pragma("GCC push_options") LARSEL_ISA_TARGET_PRAGMA(LARSEL_ISA_TARGET_avx512vnni)
#else
#error "LARSEL_ISA_LEVEL must be 0-3"
#endif
#define LARSEL_ISA_END _Pragma("GCC pop_options")
#endif  // __clang__

namespace larsel::core {
/// The kernel set this translation unit is being compiled for (internal linkage: one value per unit).
constexpr KernelSet kThisKernelSet = static_cast<KernelSet>(LARSEL_ISA_LEVEL);
}  // namespace larsel::core
