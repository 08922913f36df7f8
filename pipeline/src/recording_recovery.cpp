// `larsel recover`: a *.writing recording copied, frame by readable frame, into a complete file.
#include "larsel/pipeline/recording_recovery.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "recording_file.hpp"

namespace larsel::pipeline {
namespace {

namespace fs = std::filesystem;
using hdf5::check;
using hdf5::Handle;

constexpr std::string_view kWritingSuffix = ".writing";
constexpr hsize_t kBatchFrames = 32;
constexpr std::size_t kFramePixels = wire::kWires * wire::kTicks;

/// A crashed SWMR writer leaves its status flags set: only a SWMR reader may open the file then.
/// A file closed after a write error, or written without SWMR, opens normally.
Handle open_source(const fs::path& path) {
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
  if (id < 0) id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  return Handle(check(id, path.string(), "opening (SWMR read, then plain read)"), H5Fclose);
}

std::string string_attribute(hid_t file, const char* name) { return hdf5::read_string_attribute(file, name).value_or(""); }

template <typename T>
T scalar_attribute(hid_t file, const char* name, hid_t type) {
  T value{};
  hdf5::read_scalar_attribute(file, name, type, &value);
  return value;
}

FileAttributes read_attributes(hid_t file, const fs::path& path) {
  const std::string format = string_attribute(file, "format");
  if (format != "larsel.selected.v1") {
    throw std::runtime_error(fmt::format("{}: not a LArSel recording (format attribute '{}', expected larsel.selected.v1)", path.string(), format));
  }
  FileAttributes a;
  a.run.run = scalar_attribute<std::uint64_t>(file, "run_number", H5T_NATIVE_UINT64);
  a.file_index = scalar_attribute<std::uint64_t>(file, "file_index", H5T_NATIVE_UINT64);
  a.start.iso8601 = string_attribute(file, "start_time_utc");
  a.start.unix_ns = scalar_attribute<std::uint64_t>(file, "start_time_unix_ns", H5T_NATIVE_UINT64);
  a.frames_missed = scalar_attribute<std::uint64_t>(file, "frames_missed", H5T_NATIVE_UINT64);
  a.run.start_time_unix_ns = scalar_attribute<std::uint64_t>(file, "run_start_time_unix_ns", H5T_NATIVE_UINT64);
  a.run.config_yaml = string_attribute(file, "config_yaml");
  a.run.model_file = string_attribute(file, "model_file");
  a.run.model_hash = string_attribute(file, "model_hash");
  a.run.threshold = scalar_attribute<double>(file, "threshold", H5T_NATIVE_DOUBLE);
  a.run.prescale = scalar_attribute<std::uint32_t>(file, "prescale", H5T_NATIVE_UINT32);
  a.run.software_version = string_attribute(file, "software_version");
  return a;
}

hsize_t rows_of(hid_t dataset, const std::string& where) {
  const Handle space(check(H5Dget_space(dataset), where, "reading the extent"), H5Sclose);
  std::array<hsize_t, 3> dims{};
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), where, "reading the extent");
  return dims[0];
}

/// The deflate level the frames were written with (0: unfiltered).
int compression_level_of(hid_t frames) {
  const Handle props(H5Dget_create_plist(frames), H5Pclose);
  unsigned flags = 0, values[1] = {0};
  std::size_t count = 1;
  if (!props.valid() || H5Pget_filter_by_id2(props.get(), H5Z_FILTER_DEFLATE, &flags, &count, values, 0, nullptr, nullptr) < 0) return 0;
  return static_cast<int>(std::clamp(values[0], 1u, 9u));
}

/// Reads rows [first, first + count) of `dataset`; false when the library cannot (a damaged chunk).
bool read_rows(hid_t dataset, hsize_t first, hsize_t count, hid_t memory_type, void* out) {
  const Handle file_space(H5Dget_space(dataset), H5Sclose);
  if (!file_space.valid()) return false;
  const int rank = H5Sget_simple_extent_ndims(file_space.get());
  std::array<hsize_t, 3> dims{};
  H5Sget_simple_extent_dims(file_space.get(), dims.data(), nullptr);
  std::array<hsize_t, 3> start{first, 0, 0}, block = dims;
  block[0] = count;
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr) < 0) return false;
  const Handle memory_space(H5Screate_simple(rank, block.data(), nullptr), H5Sclose);
  return H5Dread(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, out) >= 0;
}

/// How many of the first `count` rows read back, in batches then one by one at the first failure.
template <typename Row>
hsize_t read_readable_prefix(hid_t dataset, hsize_t count, std::size_t row_values, hid_t memory_type, std::vector<Row>& out, hsize_t offset) {
  hsize_t done = 0;
  while (done < count) {
    const hsize_t batch = std::min<hsize_t>(kBatchFrames, count - done);
    if (read_rows(dataset, offset + done, batch, memory_type, out.data() + done * row_values)) {
      done += batch;
      continue;
    }
    for (hsize_t i = 0; i < batch && read_rows(dataset, offset + done, 1, memory_type, out.data() + done * row_values); ++i) ++done;
    break;
  }
  return done;
}

WallTime modification_time(const fs::path& path) {
  std::error_code error;
  const auto written = fs::last_write_time(path, error);
  if (error) return wall_time_now();
  return wall_time_at(std::chrono::file_clock::to_sys(written));
}

}  // namespace

RecoveryReport recover_recording(const fs::path& writing_file) {
  hdf5::silence_errors_on_this_thread();
  const std::string where = writing_file.string();
  if (!where.ends_with(kWritingSuffix)) {
    throw std::runtime_error(fmt::format("{}: not a recording being written (*.h5.writing); a closed *.h5 needs no recovery", where));
  }
  if (!fs::exists(writing_file)) throw std::runtime_error(fmt::format("{}: no such file", where));
  RecoveryReport report{writing_file, fs::path(where.substr(0, where.size() - kWritingSuffix.size())), 0, 0};
  if (fs::exists(report.recovered)) throw std::runtime_error(fmt::format("{}: {} exists already", where, report.recovered.string()));

  const WallTime stop = modification_time(writing_file);
  {
    const Handle source = open_source(writing_file);
    FileAttributes attributes = read_attributes(source.get(), writing_file);
    const Handle frames(check(H5Dopen2(source.get(), "frames", H5P_DEFAULT), where, "opening /frames"), H5Dclose);
    const Handle metadata(check(H5Dopen2(source.get(), "metadata", H5P_DEFAULT), where, "opening /metadata"), H5Dclose);
    const hsize_t frame_rows = rows_of(frames.get(), where), metadata_rows = rows_of(metadata.get(), where);
    report.rows_in_file = std::max(frame_rows, metadata_rows);

    const Handle row_type = metadata_memory_type();
    std::vector<MetadataRow> rows(std::min(frame_rows, metadata_rows));
    const hsize_t readable_rows = read_readable_prefix(metadata.get(), rows.size(), 1, row_type.get(), rows, 0);
    RecordingFile out(report.recovered, RecordingFileOptions{compression_level_of(frames.get()), false, ".recovering"}, attributes);
    std::vector<std::uint16_t> pixels(kBatchFrames * kFramePixels);
    while (report.frames_recovered < readable_rows) {
      const hsize_t want = std::min<hsize_t>(kBatchFrames, readable_rows - report.frames_recovered);
      const hsize_t got = read_readable_prefix(frames.get(), want, kFramePixels, H5T_NATIVE_UINT16, pixels, report.frames_recovered);
      if (got == 0) break;
      out.write(std::span(pixels.data(), got * kFramePixels), std::span(rows.data() + report.frames_recovered, got));
      report.frames_recovered += got;
      if (got < want) break;
    }
    out.set_recovered(fmt::format("larsel recover at {}: {} of the {} frames of {} read back whole and kept", wall_time_now().iso8601,
                                  report.frames_recovered, report.rows_in_file, writing_file.filename().string()));
    out.finish(attributes.run, stop);
  }
  fs::remove(writing_file);
  sync_directory_of(report.recovered);
  return report;
}

}  // namespace larsel::pipeline
