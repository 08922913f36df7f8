#ifndef LARSEL_NNET_CONV2D_STREAM_H_
#define LARSEL_NNET_CONV2D_STREAM_H_
// 'Valid' 2D convolution on a pixel stream, stride 1, in hls4ml's line-buffer
// style (nnet_conv2d_stream.h): the last filt_height - 1 rows are kept in line
// buffers, a filt_height x filt_width window slides one column per input pixel,
// and once the window is inside the image one output pixel of n_filt channels
// is computed in a pipelined cycle. Only non-zero weights exist (conv_tap), so
// the unrolled tap loop builds one multiplier per surviving weight (RF = 1).
//
// Bit-exact order (hls-and-fpga.md §1.3): acc = (accum_t) bias; acc += product
// (each product exact, the accumulator overflow-free by construction); output =
// (res_T) acc with the result type's quantization and overflow modes.
#include "nnet_common.h"

namespace nnet {

struct conv2d_config {
  static const unsigned in_height = 3, in_width = 3, n_chan = 1;
  static const unsigned filt_height = 3, filt_width = 3, n_filt = 1;
  static const unsigned out_height = 1, out_width = 1;
  static const unsigned n_taps = 1;  // non-zero weights
  typedef ap_fixed<16, 6> accum_t;
  typedef ap_fixed<8, 2> weight_t;
  typedef ap_fixed<16, 6> bias_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_window(const typename data_T::value_type window[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan],
                    const conv_tap taps[CONFIG_T::n_taps], const int bias_raw[CONFIG_T::n_filt], res_T& out) {
#pragma HLS INLINE
  typename CONFIG_T::accum_t acc[CONFIG_T::n_filt];
#pragma HLS ARRAY_PARTITION variable = acc complete
BiasLoop:
  for (unsigned f = 0; f < CONFIG_T::n_filt; f++) {
#pragma HLS UNROLL
    acc[f] = from_raw<typename CONFIG_T::bias_t>(bias_raw[f]);
  }
TapLoop:
  for (unsigned t = 0; t < CONFIG_T::n_taps; t++) {
#pragma HLS UNROLL
    acc[taps[t].filter] += window[taps[t].window_index] * from_raw<typename CONFIG_T::weight_t>(taps[t].weight_raw);
  }
ResultLoop:
  for (unsigned f = 0; f < CONFIG_T::n_filt; f++) {
#pragma HLS UNROLL
    out[f] = acc[f];
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_cl(hls::stream<data_T>& data, hls::stream<res_T>& res, const conv_tap taps[CONFIG_T::n_taps],
                const int bias_raw[CONFIG_T::n_filt], unsigned n_frames) {
  typedef typename data_T::value_type value_t;
  const unsigned kh = CONFIG_T::filt_height, kw = CONFIG_T::filt_width, nc = CONFIG_T::n_chan;
  value_t line[kh > 1 ? kh - 1 : 1][CONFIG_T::in_width][nc];  // the previous kh - 1 rows
#pragma HLS ARRAY_PARTITION variable = line complete dim = 1
#pragma HLS ARRAY_PARTITION variable = line complete dim = 3
  value_t window[kh * kw * nc];
#pragma HLS ARRAY_PARTITION variable = window complete
FrameLoop:
  for (unsigned f = 0; f < n_frames; f++) {
  PixelLoop:
    for (unsigned i = 0; i < CONFIG_T::in_height * CONFIG_T::in_width; i++) {
#pragma HLS PIPELINE II = 1
      const unsigned y = i / CONFIG_T::in_width, x = i % CONFIG_T::in_width;
      const data_T pixel = data.read();
    ShiftLoop:  // the window moves one column left; the new right column comes from the line buffers
      for (unsigned ky = 0; ky < kh; ky++) {
        for (unsigned c = 0; c < nc; c++) {
          for (unsigned kx = 0; kx + 1 < kw; kx++) window[(ky * kw + kx) * nc + c] = window[(ky * kw + kx + 1) * nc + c];
          const value_t newest = ky + 1 < kh ? line[ky][x][c] : pixel[c];
          window[(ky * kw + kw - 1) * nc + c] = newest;
        }
      }
    LineLoop:  // each line buffer moves up one row at column x
      for (unsigned c = 0; c < nc; c++) {
        for (unsigned ky = 0; ky + 1 < kh; ky++) line[ky][x][c] = ky + 2 < kh ? line[ky + 1][x][c] : pixel[c];
      }
      if (y + 1 >= kh && x + 1 >= kw) {
        res_T out;
        conv_2d_window<data_T, res_T, CONFIG_T>(window, taps, bias_raw, out);
        res.write(out);
      }
    }
  }
}

}  // namespace nnet

#endif
