#ifndef LARSEL_NNET_DENSE_STREAM_H_
#define LARSEL_NNET_DENSE_STREAM_H_
// Dense layer fed by a pixel stream (the flatten before it is free: input
// index = c * n_pixels + p, the model's channel-major order). As pixel p
// arrives, unit u adds the products of its non-zero weights on that pixel:
// slots[p][u][0 .. slots_per_unit), each a (channel, raw weight) pair; pruned
// weights are absent and each unit's rows are padded with zero-weight slots to
// its longest row. slots_per_cycle slots of every unit are multiplied per
// cycle (n_out x slots_per_cycle multipliers, slots_per_unit / slots_per_cycle
// cycles per pixel): the generator takes 1 when the layer still keeps up with
// the slowest stage, so pruning shortens the rows and saves cycles, not area.
// After the last pixel the sums are converted to res_T: one output per frame.
#include "nnet_common.h"

namespace nnet {

struct dense_config {
  static const unsigned n_pixels = 1, n_chan = 1;  // the incoming stream: pixels per frame, channels per pixel
  static const unsigned n_out = 1;
  static const unsigned slots_per_unit = 1;        // the longest row of non-zero weights of one unit on one pixel
  static const unsigned slots_per_cycle = 1;       // divides slots_per_unit
  typedef ap_fixed<16, 6> accum_t;
  typedef ap_fixed<8, 2> weight_t;
  typedef ap_fixed<16, 6> bias_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void dense_cl(hls::stream<data_T>& data, hls::stream<res_T>& res,
              const dense_slot slots[CONFIG_T::n_pixels][CONFIG_T::n_out][CONFIG_T::slots_per_unit],
              const int bias_raw[CONFIG_T::n_out], unsigned n_frames) {
  typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
#pragma HLS ARRAY_PARTITION variable = acc complete
#pragma HLS ARRAY_PARTITION variable = slots complete dim = 2
#pragma HLS ARRAY_PARTITION variable = slots cyclic factor = CONFIG_T::slots_per_cycle dim = 3
FrameLoop:
  for (unsigned f = 0; f < n_frames; f++) {
  BiasLoop:
    for (unsigned u = 0; u < CONFIG_T::n_out; u++) {
#pragma HLS UNROLL
      acc[u] = from_raw<typename CONFIG_T::bias_t>(bias_raw[u]);
    }
  PixelLoop:
    for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
      const data_T pixel = data.read();
    SlotLoop:
      for (unsigned s0 = 0; s0 < CONFIG_T::slots_per_unit; s0 += CONFIG_T::slots_per_cycle) {
#pragma HLS PIPELINE II = 1
      UnitLoop:
        for (unsigned u = 0; u < CONFIG_T::n_out; u++) {
        ParallelSlotLoop:
          for (unsigned k = 0; k < CONFIG_T::slots_per_cycle; k++) {
            const dense_slot slot = slots[p][u][s0 + k];
            acc[u] += pixel[slot.channel] * from_raw<typename CONFIG_T::weight_t>(slot.weight_raw);
          }
        }
      }
    }
    res_T out;
  ResultLoop:
    for (unsigned u = 0; u < CONFIG_T::n_out; u++) {
#pragma HLS UNROLL
      out[u] = acc[u];
    }
    res.write(out);
  }
}

}  // namespace nnet

#endif
