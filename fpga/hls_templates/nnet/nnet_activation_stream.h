#ifndef LARSEL_NNET_ACTIVATION_STREAM_H_
#define LARSEL_NNET_ACTIVATION_STREAM_H_
// ReLU on a pixel stream: x > 0 ? x : 0 in the result type (hls4ml §1.6).
#include "nnet_common.h"

namespace nnet {

struct activ_config {
  static const unsigned n_pixels = 1;  // pixels per frame
  static const unsigned n_chan = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void relu(hls::stream<data_T>& data, hls::stream<res_T>& res, unsigned n_frames) {
ReLULoop:
  for (unsigned i = 0; i < n_frames * CONFIG_T::n_pixels; i++) {
#pragma HLS PIPELINE II = 1
    const data_T in = data.read();
    res_T out;
  ChannelLoop:
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
      if (in[c] > 0) out[c] = in[c];
      else out[c] = 0;
    }
    res.write(out);
  }
}

}  // namespace nnet

#endif
