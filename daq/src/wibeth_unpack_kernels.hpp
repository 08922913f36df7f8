#pragma once
// The per-kernel-set WIBEth ADC unpack kernels (wibeth_unpack_kernels.cpp,
// compiled per kernel set) and their table; the baseline kernel is
// wibeth::unpack_adcs_scalar.
#include "larsel/daq/wibeth.hpp"

namespace larsel::daq::wibeth::detail {
namespace avx2 {
void unpack_adcs(FrameView frame, MutableAdcView adc) noexcept;
void unpack_rows(FrameView frame, std::uint8_t blocks, std::uint16_t* const rows[kChannels]) noexcept;
}
}  // namespace larsel::daq::wibeth::detail
