#ifndef LARSEL_NNET_COMMON_H_
#define LARSEL_NNET_COMMON_H_
// Shared pieces of the LArSel layer templates (after hls4ml's nnet_utils:
// each layer is a template configured by a struct of compile-time constants).
// Written in C++11 so that Vitis HLS (and g++ for C simulation) compile it.
#include "ap_fixed.h"
#include "ap_int.h"
#include "hls_stream.h"

namespace nnet {

// One stream element is one pixel: all channels of one (row, column), as with
// hls4ml's io_stream. Pixels stream in raster order, frame after frame.
template <typename T, unsigned N>
struct array {
  typedef T value_type;
  static const unsigned size = N;
  T data[N];
  T& operator[](unsigned i) { return data[i]; }
  const T& operator[](unsigned i) const { return data[i]; }
};

// A non-zero weight of a pruned convolution: pruned weights are absent, and the
// fully unrolled tap loop turns each entry into one constant multiplier.
// window_index = (ky * filt_width + kx) * n_chan + c, hls4ml's window order.
struct conv_tap {
  unsigned short filter;
  unsigned short window_index;
  int weight_raw;  // the weight's raw fixed-point integer (hls4ml issue #808: no decimal literals)
};

// A non-zero weight of a pruned dense layer fed by a pixel stream, stored per
// (pixel, unit) as the channel it reads and its raw weight. Rows are padded to
// the unit's longest row with zero-weight slots (channel 0, weight 0).
struct dense_slot {
  unsigned short channel;
  int weight_raw;
};

// A fixed-point value whose raw bits are `raw` (two's complement, W bits).
template <typename T>
T from_raw(int raw) {
  T value;
  value.range() = raw;
  return value;
}

// The raw bits of a fixed-point value as a sign-extended int.
template <typename T>
int raw_bits(const T& value) {
  ap_int<T::width> bits;
  bits.range() = value.range();
  return bits.to_int();
}

}  // namespace nnet

#endif
