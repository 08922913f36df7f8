#include "larsel/daq/wibeth_file.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include <H5Cpp.h>
#include <fmt/format.h>

#include "larsel/core/hdf5_attributes.hpp"

namespace larsel::daq {

using core::write_string_attribute;
using core::write_u64_attribute;

std::size_t DecodedFrames::skipped_total() const noexcept {
  std::size_t total = 0;
  for (const std::size_t n : skipped) total += n;
  return total;
}

DecodedFrames decode_frames(const WibEthBuffer& buffer, std::optional<std::uint8_t> valid_for_det_id) {
  using namespace wibeth;
  DecodedFrames out;
  std::vector<std::size_t> kept;  // the frames decoded, in file order
  kept.reserve(buffer.frame_count);
  for (std::size_t f = 0; f < buffer.frame_count; ++f) {
    const Header header = decode_header(FrameView(buffer.frames.data() + f * kFrameBytes, kFrameBytes));
    const HeaderFault fault = valid_for_det_id ? header_fault(header, *valid_for_det_id) : HeaderFault::none;
    if (fault != HeaderFault::none) {
      ++out.skipped[static_cast<std::size_t>(fault)];
      continue;
    }
    kept.push_back(f);
    out.headers.push_back(header);
  }
  out.ticks = kept.size() * kSamples;
  out.adc.resize(kChannels * out.ticks);
  std::vector<std::uint16_t> adc(kAdcCount);
  const UnpackKernel unpack = unpack_kernel(core::selected_kernel_set());
  for (std::size_t k = 0; k < kept.size(); ++k) {
    unpack.run(FrameView(buffer.frames.data() + kept[k] * kFrameBytes, kFrameBytes), MutableAdcView(adc.data(), kAdcCount));
    for (std::size_t t = 0; t < kSamples; ++t) {
      for (std::size_t c = 0; c < kChannels; ++c) {
        out.adc[c * out.ticks + k * kSamples + t] = static_cast<std::int16_t>(adc[t * kChannels + c]);
      }
    }
  }
  return out;
}

std::vector<ChannelSummary> summarize_channels(const DecodedFrames& decoded) {
  std::vector<ChannelSummary> out(wibeth::kChannels);
  std::vector<std::int16_t> values(decoded.ticks);
  for (std::size_t c = 0; c < wibeth::kChannels && decoded.ticks > 0; ++c) {
    const auto row = decoded.adc.begin() + static_cast<std::ptrdiff_t>(c * decoded.ticks);
    std::copy(row, row + static_cast<std::ptrdiff_t>(decoded.ticks), values.begin());
    double sum = 0, sum2 = 0;
    for (const auto v : values) sum += v;
    const double mean = sum / static_cast<double>(values.size());
    for (const auto v : values) sum2 += (v - mean) * (v - mean);
    out[c].rms = std::sqrt(sum2 / static_cast<double>(values.size()));
    const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
    std::nth_element(values.begin(), mid, values.end());
    out[c].pedestal = *mid;
  }
  return out;
}

namespace {

template <typename T>
void write_1d(H5::H5File& file, const char* name, const H5::PredType& type, const std::vector<T>& data) {
  const hsize_t dims[1] = {data.size()};
  H5::DataSet ds = file.createDataSet(name, type, H5::DataSpace(1, dims));
  ds.write(data.data(), type);
}

template <typename T, typename F>
std::vector<T> per_frame(const DecodedFrames& d, F field) {
  std::vector<T> out;
  out.reserve(d.headers.size());
  for (const auto& h : d.headers) out.push_back(static_cast<T>(field(h)));
  return out;
}

/// Rethrows the exception being handled as one line naming `path`.
[[noreturn]] void throw_write_error(const std::filesystem::path& path) {
  try {
    throw;
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: cannot write HDF5: {}", path.string(), e.getDetailMsg()));
  } catch (const std::filesystem::filesystem_error& e) {
    throw std::runtime_error(fmt::format("{}: cannot write HDF5: {}", path.string(), e.code().message()));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: cannot write HDF5: {}", path.string(), e.what()));
  }
}

}  // namespace

void write_decoded_hdf5(const std::filesystem::path& path, const DecodedFrames& d, const WibEthBuffer& buffer,
                        const std::string& source) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  try {
    H5::Exception::dontPrint();
    {
      H5::H5File file(tmp.string(), H5F_ACC_TRUNC);
      const hsize_t dims[2] = {wibeth::kChannels, d.ticks};
      H5::DataSet adc = file.createDataSet("adc", H5::PredType::NATIVE_INT16, H5::DataSpace(2, dims));
      adc.write(d.adc.data(), H5::PredType::NATIVE_INT16);
      write_string_attribute(adc, "layout", "adc[channel][tick]: channel = position in the WIBEth frame (0-63), "
                                            "tick = 512 ns sample, frames concatenated in time");
      write_1d(file, "timestamp", H5::PredType::NATIVE_UINT64, per_frame<std::uint64_t>(d, [](auto& h) { return h.timestamp; }));
      write_1d(file, "seq_id", H5::PredType::NATIVE_UINT16, per_frame<std::uint16_t>(d, [](auto& h) { return h.seq_id; }));
      write_1d(file, "stream_id", H5::PredType::NATIVE_UINT8, per_frame<std::uint8_t>(d, [](auto& h) { return h.stream_id; }));
      write_1d(file, "crate_id", H5::PredType::NATIVE_UINT16, per_frame<std::uint16_t>(d, [](auto& h) { return h.crate_id; }));
      write_1d(file, "slot_id", H5::PredType::NATIVE_UINT8, per_frame<std::uint8_t>(d, [](auto& h) { return h.slot_id; }));
      write_string_attribute(file, "source", source);
      write_string_attribute(file, "timestamp_clock", "62.5 MHz ticks of sample 0 of each frame");
      if (buffer.fragment) {
        write_u64_attribute(file, "run_number", buffer.fragment->run_number);
        write_u64_attribute(file, "trigger_number", buffer.fragment->trigger_number);
        write_u64_attribute(file, "source_id", buffer.fragment->source_id);
      }
    }
    std::filesystem::rename(tmp, path);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);  // never left behind, whatever failed
    throw_write_error(path);
  }
}

}  // namespace larsel::daq
