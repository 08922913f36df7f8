#ifndef LARSEL_NNET_PADDING_STREAM_H_
#define LARSEL_NNET_PADDING_STREAM_H_
// Zero padding on a pixel stream, the layer hls4ml inserts before a 'same'
// convolution (passes/conv_same_pad.py): the convolution itself stays 'valid'.
#include "nnet_common.h"

namespace nnet {

struct zeropad2d_config {
  static const unsigned in_height = 1, in_width = 1, n_chan = 1;
  static const unsigned pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  static const unsigned out_height = 1, out_width = 1;
};

template <class data_T, typename CONFIG_T>
void zeropad2d_cl(hls::stream<data_T>& data, hls::stream<data_T>& res, unsigned n_frames) {
  data_T zero;
  for (unsigned c = 0; c < CONFIG_T::n_chan; c++) zero[c] = 0;
FrameLoop:
  for (unsigned f = 0; f < n_frames; f++) {
  PadLoop:
    for (unsigned i = 0; i < CONFIG_T::out_height * CONFIG_T::out_width; i++) {
#pragma HLS PIPELINE II = 1
      const unsigned y = i / CONFIG_T::out_width, x = i % CONFIG_T::out_width;
      const bool inside = y >= CONFIG_T::pad_top && y < CONFIG_T::pad_top + CONFIG_T::in_height &&
                          x >= CONFIG_T::pad_left && x < CONFIG_T::pad_left + CONFIG_T::in_width;
      res.write(inside ? data.read() : zero);
    }
  }
}

}  // namespace nnet

#endif
