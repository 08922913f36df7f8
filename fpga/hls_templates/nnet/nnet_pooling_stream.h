#ifndef LARSEL_NNET_POOLING_STREAM_H_
#define LARSEL_NNET_POOLING_STREAM_H_
// Max pooling on a pixel stream, pool size = stride, no padding (as hls4ml's
// stream pooling requires, issue #617). One row of running maxima is kept;
// rows and columns beyond the last whole window are read and dropped (floor).
#include "nnet_common.h"

namespace nnet {

struct pooling2d_config {
  static const unsigned in_height = 2, in_width = 2, n_chan = 1;
  static const unsigned pool_height = 2, pool_width = 2;
  static const unsigned out_height = 1, out_width = 1;
};

template <class data_T, typename CONFIG_T>
void pooling2d_max_cl(hls::stream<data_T>& data, hls::stream<data_T>& res, unsigned n_frames) {
  data_T partial[CONFIG_T::out_width];  // running maxima of the current row of windows
#pragma HLS ARRAY_PARTITION variable = partial complete
FrameLoop:
  for (unsigned f = 0; f < n_frames; f++) {
  PixelLoop:
    for (unsigned i = 0; i < CONFIG_T::in_height * CONFIG_T::in_width; i++) {
#pragma HLS PIPELINE II = 1
      const unsigned y = i / CONFIG_T::in_width, x = i % CONFIG_T::in_width;
      const data_T in = data.read();
      const unsigned ox = x / CONFIG_T::pool_width;
      if (y >= CONFIG_T::out_height * CONFIG_T::pool_height || ox >= CONFIG_T::out_width) continue;
      const bool first = y % CONFIG_T::pool_height == 0 && x % CONFIG_T::pool_width == 0;
    ChannelLoop:
      for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
        if (first || in[c] > partial[ox][c]) partial[ox][c] = in[c];
      }
      if (y % CONFIG_T::pool_height == CONFIG_T::pool_height - 1 && x % CONFIG_T::pool_width == CONFIG_T::pool_width - 1) {
        res.write(partial[ox]);
      }
    }
  }
}

}  // namespace nnet

#endif
