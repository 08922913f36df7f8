#ifndef LARSEL_NNET_IO_H_
#define LARSEL_NNET_IO_H_
// The kernel's memory-mapped edges: frames arrive as 512-bit AXI words (64
// pixels each, pixel b in bits [8b+7 : 8b]; a frame starts on a word
// boundary) and leave as one raw 32-bit score per frame.
#include "nnet_common.h"

namespace nnet {

struct frame_reader_config {
  static const unsigned frame_pixels = 1;     // pixels (bytes) per frame
  static const unsigned words_per_frame = 1;  // ceil(frame_pixels / 64)
};

template <class res_T, typename CONFIG_T>
void read_frames(const ap_uint<512>* frames, hls::stream<res_T>& res, unsigned n_frames) {
FrameLoop:
  for (unsigned f = 0; f < n_frames; f++) {
    ap_uint<512> word;
  PixelLoop:
    for (unsigned p = 0; p < CONFIG_T::frame_pixels; p++) {
#pragma HLS PIPELINE II = 1
      const unsigned byte = p % 64;
      if (byte == 0) word = frames[f * CONFIG_T::words_per_frame + p / 64];
      res_T pixel;
      pixel[0].range() = word.range(8 * byte + 7, 8 * byte);
      res.write(pixel);
    }
  }
}

template <class data_T>
void write_scores(hls::stream<data_T>& data, int* scores, unsigned n_frames) {
ScoreLoop:
  for (unsigned f = 0; f < n_frames; f++) {
#pragma HLS PIPELINE II = 1
    const data_T logit = data.read();
    scores[f] = raw_bits(logit[0]);
  }
}

}  // namespace nnet

#endif
