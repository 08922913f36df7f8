// The `xrt` inference backend: the HLS kernel
//   extern "C" void larsel_cnn(const ap_uint<512>* frames, int* scores, unsigned n_frames)
// on an Alveo card through the XRT native C++ API, in the host sequence of
// shared/reference/hls-and-fpga.md §5.3: open the device, load the xclbin, find the kernel,
// allocate buffer objects (BOs) in the banks the kernel's ports are linked to, then per batch
// sync in, run, wait, sync out.
//
// XRT from Debian 12 (libxrt-dev 202210.2.13): every XRT failure is a C++ exception derived
// from std::exception (std::runtime_error or std::system_error); none aborts. With no card XRT
// prints nothing and xrt::device's constructor throws, e.g.
//   "XILINX_XRT not set"                                  (environment variable unset)
//   "No such library '/usr/lib/libxrt_core.so.2'"        (XILINX_XRT=/usr: Debian's shim is in
//                                                          /usr/lib/x86_64-linux-gnu, XRT looks
//                                                          in $XILINX_XRT/lib)
//   "Could not open device with index '0'"               (shim found, no card or no xocl driver)
// which make_xrt_backend turns into one std::runtime_error line saying what it looked for.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "larsel/fpga/backend.hpp"

namespace larsel::fpga {
namespace {

/// The kernel reads frames as ap_uint<512> words (§4: one m_axi port, 512-bit bursts), each frame
/// starting on a word boundary (firmware/larsel_cnn.h of the generated project): a frame takes
/// round_up_to_words(frame_size) bytes of the buffer, its tail zeroed.
constexpr std::size_t kWordBytes = 64;
/// How long one batch may run before infer() gives up on the card.
constexpr std::chrono::milliseconds kRunTimeout{10'000};

std::size_t round_up_to_words(std::size_t bytes) { return (bytes + kWordBytes - 1) / kWordBytes * kWordBytes; }

/// An XRT message on one line (a few XRT messages carry newlines).
std::string one_line(const char* message) {
  std::string text = message != nullptr ? message : "";
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

/// What XRT needs to see a card, added to the message when the device does not open.
std::string device_hint(const std::string& xrt_message) {
  std::string hint = "'xbutil examine' lists the cards XRT sees";
  if (xrt_message.find("XILINX_XRT") != std::string::npos || xrt_message.find("libxrt_core") != std::string::npos) {
    hint += "; XILINX_XRT must name the XRT install whose lib/ holds libxrt_core.so.2 "
            "(source /opt/xilinx/xrt/setup.sh)";
  }
  return hint;
}

/// Opens card `index`; a missing card or runtime becomes one std::runtime_error line.
xrt::device open_device(unsigned index) {
  try {
    return xrt::device(index);
  } catch (const std::exception& e) {
    const std::string message = one_line(e.what());
    throw std::runtime_error(fmt::format(
        "xrt backend: could not open Xilinx/Alveo device index {}: XRT found no usable card there ({}); XRT said: {}",
        index, device_hint(message), message));
  } catch (...) {
    throw std::runtime_error(fmt::format(
        "xrt backend: could not open Xilinx/Alveo device index {}: XRT found no usable card there ({})", index,
        device_hint("")));
  }
}

/// A failure the backend diagnosed itself (its message already says where); any other exception
/// out of XRT during infer() is wrapped with that context.
class XrtBackendError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One batch slot: the input and output BOs, their host mappings, and a reusable run.
struct Slot {
  xrt::bo frames, scores;
  std::uint8_t* frames_host = nullptr;
  std::int32_t* scores_host = nullptr;
  xrt::run run;
  std::size_t first = 0, count = 0;  // the frames in flight, when busy
  bool busy = false;
};

class XrtBackend final : public InferenceBackend {
 public:
  XrtBackend(const BackendOptions& options, std::size_t frame_size, const models::FixedPointFormat& logit_format);

  [[nodiscard]] std::string name() const override { return "xrt"; }
  [[nodiscard]] std::size_t frame_size() const override { return frame_size_; }
  [[nodiscard]] models::FixedPointFormat logit_format() const override { return logit_format_; }
  void infer(std::span<const std::uint8_t> frames, std::span<double> logits) override;

 private:
  /// "device N, xclbin PATH": prefixed to every failure after the device opened.
  [[nodiscard]] std::string where() const;
  void load_kernel();
  void allocate_slot(Slot& slot);
  void start(Slot& slot, std::span<const std::uint8_t> frames, std::size_t first, std::size_t count);
  void finish(Slot& slot, std::span<double> logits);
  void run_batches(std::span<const std::uint8_t> frames, std::span<double> logits);
  /// After a failure: runs may still be in flight on the slots, so the backend refuses further work.
  void abandon_runs() noexcept {
    failed_ = true;
    for (Slot& slot : slots_) slot.busy = false;
  }

  BackendOptions options_;
  std::size_t frame_size_;
  models::FixedPointFormat logit_format_;
  xrt::device device_;
  xrt::kernel kernel_;
  // Two BO sets (double buffering, §5.3): the card runs batch k+1 while the host reads batch k
  // and writes batch k+2, hiding the per-run launch and PCIe transfer latency.
  std::array<Slot, 2> slots_;
  bool failed_ = false;  // a run timed out or failed: the card's state is unknown
};

XrtBackend::XrtBackend(const BackendOptions& options, std::size_t frame_size,
                       const models::FixedPointFormat& logit_format)
    : options_(options),
      frame_size_(frame_size),
      logit_format_(logit_format),
      device_(open_device(options.device_index)) {
  load_kernel();
  for (Slot& slot : slots_) allocate_slot(slot);
}

std::string XrtBackend::where() const {
  return fmt::format("xrt backend (device index {}, xclbin {})", options_.device_index, options_.xclbin.string());
}

void XrtBackend::load_kernel() {
  xrt::uuid uuid;
  try {
    uuid = device_.load_xclbin(options_.xclbin.string());
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: could not load the xclbin onto the card (is it built by v++ for this "
                                         "card's platform?); XRT said: {}",
                                         where(), one_line(e.what())));
  }
  try {
    kernel_ = xrt::kernel(device_, uuid, kKernelName);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: the xclbin has no kernel '{}' (v++ -k {}); XRT said: {}", where(),
                                         kKernelName, kKernelName, one_line(e.what())));
  }
}

void XrtBackend::allocate_slot(Slot& slot) {
  const std::size_t in_bytes = options_.batch_frames * round_up_to_words(frame_size_);
  const std::size_t out_bytes = options_.batch_frames * sizeof(std::int32_t);
  try {
    // group_id(i) is the memory bank (DDR/HBM) that argument i's m_axi bundle was linked to
    // (v++ --connectivity.sp); a BO elsewhere is not reachable by the kernel (§4, §5.3 step 4).
    slot.frames = xrt::bo(device_, in_bytes, kernel_.group_id(0));
    slot.scores = xrt::bo(device_, out_bytes, kernel_.group_id(1));
    slot.frames_host = slot.frames.map<std::uint8_t*>();
    slot.scores_host = slot.scores.map<std::int32_t*>();
    // One run per slot, its buffer arguments bound once; each batch only sets n_frames (§5.3 step 8).
    slot.run = xrt::run(kernel_);
    slot.run.set_arg(0, slot.frames);
    slot.run.set_arg(1, slot.scores);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: could not allocate {} + {} bytes of device buffers for {} frames; "
                                         "XRT said: {}",
                                         where(), in_bytes, out_bytes, options_.batch_frames, one_line(e.what())));
  }
}

/// Copies `count` frames from `first` into the slot, syncs them to the card and starts the kernel.
void XrtBackend::start(Slot& slot, std::span<const std::uint8_t> frames, std::size_t first, std::size_t count) {
  const std::size_t stride = round_up_to_words(frame_size_), padded = count * stride;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint8_t* frame = slot.frames_host + i * stride;
    std::memcpy(frame, frames.data() + (first + i) * frame_size_, frame_size_);
    std::memset(frame + frame_size_, 0, stride - frame_size_);  // the unused tail of the frame's last word
  }
  slot.frames.sync(XCL_BO_SYNC_BO_TO_DEVICE, padded, 0);
  slot.run.set_arg(2, static_cast<unsigned>(count));
  slot.run.start();
  slot.first = first, slot.count = count, slot.busy = true;
}

/// Waits for the slot's run, syncs its scores back and writes their logits.
void XrtBackend::finish(Slot& slot, std::span<double> logits) {
  slot.busy = false;
  const ert_cmd_state state = slot.run.wait(kRunTimeout);
  if (state == ERT_CMD_STATE_TIMEOUT) {
    try {
      slot.run.abort();  // XRT leaves aborting a timed-out run to the caller
    } catch (...) {
      // Best effort: the backend is marked failed by the caller either way.
    }
    throw XrtBackendError(fmt::format("{}: kernel {} did not finish {} frames within {} ms", where(), kKernelName,
                                         slot.count, kRunTimeout.count()));
  }
  if (state != ERT_CMD_STATE_COMPLETED) {
    throw XrtBackendError(fmt::format("{}: kernel {} ended in state {} (not completed) on {} frames", where(),
                                         kKernelName, static_cast<int>(state), slot.count));
  }
  slot.scores.sync(XCL_BO_SYNC_BO_FROM_DEVICE, slot.count * sizeof(std::int32_t), 0);
  const int fraction = logit_format_.fractional_bits();
  for (std::size_t i = 0; i < slot.count; ++i) {
    logits[slot.first + i] = std::ldexp(static_cast<double>(slot.scores_host[i]), -fraction);  // raw * 2^-F
  }
}

/// Batch k goes to slot k % 2; before reusing a slot, its previous batch (k - 2) is finished
/// while batch k - 1 is still running on the card.
void XrtBackend::run_batches(std::span<const std::uint8_t> frames, std::span<double> logits) {
  const std::size_t n = frames.size() / frame_size_;
  std::size_t batch = 0;
  for (std::size_t first = 0; first < n; first += options_.batch_frames, ++batch) {
    Slot& slot = slots_[batch % 2];
    if (slot.busy) finish(slot, logits);
    start(slot, frames, first, std::min(options_.batch_frames, n - first));
  }
  for (std::size_t k = 0; k < slots_.size(); ++k) {  // the oldest batch first
    Slot& slot = slots_[(batch + k) % 2];
    if (slot.busy) finish(slot, logits);
  }
}

void XrtBackend::infer(std::span<const std::uint8_t> frames, std::span<double> logits) {
  if (frames.size() % frame_size_ != 0) {
    throw std::invalid_argument(fmt::format("xrt backend: {} bytes of frames is not a whole number of {}-byte frames",
                                            frames.size(), frame_size_));
  }
  if (logits.size() < frames.size() / frame_size_) {
    throw std::invalid_argument(fmt::format("xrt backend: {} logits for {} frames", logits.size(),
                                            frames.size() / frame_size_));
  }
  if (failed_) throw std::runtime_error(where() + ": an earlier kernel run failed; open the backend again");
  try {
    run_batches(frames, logits);
  } catch (const XrtBackendError&) {
    abandon_runs();
    throw;
  } catch (const std::exception& e) {
    abandon_runs();
    throw std::runtime_error(fmt::format("{}: XRT said: {}", where(), one_line(e.what())));
  }
}

}  // namespace

std::unique_ptr<InferenceBackend> make_xrt_backend(const BackendOptions& options, std::size_t frame_size,
                                                   const models::FixedPointFormat& logit_format) {
  if (frame_size == 0) throw std::invalid_argument("xrt backend: frame size is 0");
  if (options.batch_frames == 0 || options.batch_frames > std::numeric_limits<unsigned>::max()) {
    throw std::invalid_argument(fmt::format("xrt backend: batch_frames {} is not in [1, {}] (the kernel's n_frames "
                                            "is unsigned)",
                                            options.batch_frames, std::numeric_limits<unsigned>::max()));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(options.xclbin, ec)) {
    throw std::runtime_error(fmt::format("xrt backend: xclbin '{}' not found (or not a regular file); "
                                         "`larsel export-hls` writes the kernel project and `v++` links it into an "
                                         "xclbin",
                                         options.xclbin.string()));
  }
  return std::make_unique<XrtBackend>(options, frame_size, logit_format);
}

}  // namespace larsel::fpga
