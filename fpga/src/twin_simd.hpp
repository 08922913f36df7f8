#pragma once
// Which vector instructions the twin's packed path is compiled for: AVX-512 (F, BW, VL; VNNI and VBMI used
// when present) where the library is built for such a CPU (-march=native), else plain C++ only.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define LARSEL_TWIN_AVX512 1
// GCC 12's unmasked AVX-512 intrinsics pass _mm512_undefined_epi32() (self-initialised) as the merge source,
// which -Wuninitialized flags at every inlined use (GCC PR 105593): silenced for the intrinsics headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#define LARSEL_TWIN_AVX512 0
#endif
