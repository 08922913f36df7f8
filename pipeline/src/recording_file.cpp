// One HDF5 file of selected frames: crash-safe while written (SWMR), durable when closed.
#include "recording_file.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace larsel::pipeline {
namespace {

namespace fs = std::filesystem;
using hdf5::check;
using hdf5::Handle;

static_assert(std::endian::native == std::endian::little, "the in-memory frames and metadata are written as little-endian");

constexpr const char* kFileFormat = "larsel.selected.v1";
constexpr hsize_t kMetadataChunkRows = 256;  // ~13 kB per chunk
constexpr const char* kFramesDescription =
    "frame, wire, tick: ADC counts of the 480 collection wires of one APA face over 64 ticks of 512 ns";
constexpr const char* kMetadataDescription =
    "one row per frame of /frames. timestamp: 62.5 MHz ticks of the first sample; sequence: frame periods since the "
    "face's first frame; face: 2 * APA + face in APA; score, threshold: CNN logit and selection threshold; decision: "
    "0 rejected, 1 selected, 2 prescaled; flags: bit 0 incomplete image, bit 1 truth known, bit 2 truth signal; "
    "missing_streams: bit i set when stream i of the face did not contribute; truth_*: MeV, NaN when unknown; "
    "arrival_to_decision_us: image built to decision";

Handle decision_type() {
  Handle type(H5Tenum_create(H5T_NATIVE_UINT8), H5Tclose);
  for (const auto decision : {wire::Decision::rejected, wire::Decision::selected, wire::Decision::prescaled}) {
    const auto value = static_cast<std::uint8_t>(decision);
    H5Tenum_insert(type.get(), wire::decision_name(decision), &value);
  }
  return type;
}

void write_scalar(hid_t file, const char* name, hid_t type, const auto& value, std::string_view where) {
  hdf5::replace_scalar_attribute(file, name, type, &value, where);
}

/// A chunked dataset growing along its first dimension (maximum unlimited).
Handle create_growing_dataset(hid_t file, const char* name, hid_t type, std::span<const hsize_t> row_shape,
                              std::span<const hsize_t> chunk, int compression_level, bool shuffle, std::string_view where) {
  const std::string what = fmt::format("creating /{}", name);
  std::array<hsize_t, 3> dims{}, max_dims{};
  max_dims[0] = H5S_UNLIMITED;
  for (std::size_t i = 0; i < row_shape.size(); ++i) dims[i + 1] = max_dims[i + 1] = row_shape[i];
  const int rank = static_cast<int>(row_shape.size() + 1);
  const Handle space(check(H5Screate_simple(rank, dims.data(), max_dims.data()), where, what), H5Sclose);
  const Handle props(check(H5Pcreate(H5P_DATASET_CREATE), where, what), H5Pclose);
  check(H5Pset_chunk(props.get(), rank, chunk.data()), where, what);
  if (compression_level > 0) {
    if (shuffle) check(H5Pset_shuffle(props.get()), where, what);
    check(H5Pset_deflate(props.get(), static_cast<unsigned>(compression_level)), where, what);
  }
  // No chunk cache: every batch writes whole chunks, which go straight through the filters to the
  // file, so the file size (the rotation criterion) is current after each batch.
  const Handle access(check(H5Pcreate(H5P_DATASET_ACCESS), where, what), H5Pclose);
  check(H5Pset_chunk_cache(access.get(), 0, 0, 1.0), where, what);
  return Handle(check(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, props.get(), access.get()), where, what), H5Dclose);
}

/// Extends `dataset` along its first dimension by `count` rows and writes them from `data`.
void append_rows(hid_t dataset, hsize_t count, const void* data, hid_t memory_type, std::string_view where, std::string_view what) {
  const Handle old_space(check(H5Dget_space(dataset), where, what), H5Sclose);
  const int rank = check(H5Sget_simple_extent_ndims(old_space.get()), where, what);
  std::array<hsize_t, 3> dims{};
  check(H5Sget_simple_extent_dims(old_space.get(), dims.data(), nullptr), where, what);
  std::array<hsize_t, 3> start{dims[0], 0, 0};
  dims[0] += count;
  check(H5Dset_extent(dataset, dims.data()), where, what);
  std::array<hsize_t, 3> block = dims;
  block[0] = count;
  const Handle file_space(check(H5Dget_space(dataset), where, what), H5Sclose);
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr), where, what);
  const Handle memory_space(check(H5Screate_simple(rank, block.data(), nullptr), where, what), H5Sclose);
  check(H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, data), where, what);
}

/// File access: the latest format (needed for SWMR; HDF5 >= 1.10 reads it), the sec2 driver (fsync-able descriptor).
Handle file_access(std::string_view where) {
  Handle access(check(H5Pcreate(H5P_FILE_ACCESS), where, "file access properties"), H5Pclose);
  check(H5Pset_libver_bounds(access.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), where, "file access properties");
  check(H5Pset_fapl_sec2(access.get()), where, "file access properties");
  return access;
}

/// Points the open file's descriptor at an anonymous in-memory file, so what HDF5 still writes while
/// closing a file whose write or flush failed (disk full) lands nowhere: the file on disk keeps the
/// consistent state of its last flush, and the close, which would otherwise fail again, succeeds.
/// (A file whose close failed crashes HDF5 1.10 when closed again, at the latest at its shutdown:
/// SEGV in H5F__close_cb.)
void detach_from_disk(hid_t file) noexcept {
  void* handle = nullptr;
  if (H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0 || handle == nullptr) return;
  const int sink = ::memfd_create("larsel-abandoned-recording", MFD_CLOEXEC);
  if (sink < 0) return;
  ::dup2(sink, *static_cast<int*>(handle));
  ::close(sink);
}

}  // namespace

MetadataRow to_metadata_row(const wire::FrameHeader& h) {
  return {h.timestamp, h.sequence, h.face, h.score, h.threshold, static_cast<std::uint8_t>(h.decision), h.flags,
          h.missing_streams, h.truth_visible_energy_mev, h.truth_nu_energy_mev, h.arrival_to_decision_us};
}

hdf5::Handle metadata_memory_type() {
  Handle type(H5Tcreate(H5T_COMPOUND, sizeof(MetadataRow)), H5Tclose);
  const Handle decision = decision_type();
  const hid_t t = type.get();
  H5Tinsert(t, "timestamp", offsetof(MetadataRow, timestamp), H5T_NATIVE_UINT64);
  H5Tinsert(t, "sequence", offsetof(MetadataRow, sequence), H5T_NATIVE_UINT64);
  H5Tinsert(t, "face", offsetof(MetadataRow, face), H5T_NATIVE_UINT32);
  H5Tinsert(t, "score", offsetof(MetadataRow, score), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "threshold", offsetof(MetadataRow, threshold), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "decision", offsetof(MetadataRow, decision), decision.get());
  H5Tinsert(t, "flags", offsetof(MetadataRow, flags), H5T_NATIVE_UINT8);
  H5Tinsert(t, "missing_streams", offsetof(MetadataRow, missing_streams), H5T_NATIVE_UINT32);
  H5Tinsert(t, "truth_visible_energy_mev", offsetof(MetadataRow, truth_visible_energy_mev), H5T_NATIVE_FLOAT);
  H5Tinsert(t, "truth_nu_energy_mev", offsetof(MetadataRow, truth_nu_energy_mev), H5T_NATIVE_FLOAT);
  H5Tinsert(t, "arrival_to_decision_us", offsetof(MetadataRow, arrival_to_decision_us), H5T_NATIVE_DOUBLE);
  return type;
}

WallTime wall_time_at(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
  const auto seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return {ns, fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", utc, ns % 1'000'000'000 / 1000), fmt::format("{:%Y%m%dT%H%M%SZ}", utc)};
}

WallTime wall_time_now() { return wall_time_at(std::chrono::system_clock::now()); }

void write_file_attributes(hid_t file, const FileAttributes& a, std::string_view where) {
  hdf5::replace_string_attribute(file, "format", kFileFormat, where);
  write_scalar(file, "run_number", H5T_NATIVE_UINT64, a.run.run, where);
  write_scalar(file, "file_index", H5T_NATIVE_UINT64, a.file_index, where);
  hdf5::replace_string_attribute(file, "start_time_utc", a.start.iso8601, where);
  write_scalar(file, "start_time_unix_ns", H5T_NATIVE_UINT64, a.start.unix_ns, where);
  hdf5::replace_string_attribute(file, "stop_time_utc", a.stop.iso8601, where);
  write_scalar(file, "stop_time_unix_ns", H5T_NATIVE_UINT64, a.stop.unix_ns, where);
  write_scalar(file, "frames", H5T_NATIVE_UINT64, a.frames, where);
  write_scalar(file, "frames_missed", H5T_NATIVE_UINT64, a.frames_missed, where);
  write_scalar(file, "run_start_time_unix_ns", H5T_NATIVE_UINT64, a.run.start_time_unix_ns, where);
  hdf5::replace_string_attribute(file, "config_yaml", a.run.config_yaml, where);
  hdf5::replace_string_attribute(file, "model_file", a.run.model_file, where);
  hdf5::replace_string_attribute(file, "model_hash", a.run.model_hash, where);
  write_scalar(file, "threshold", H5T_NATIVE_DOUBLE, a.run.threshold, where);
  write_scalar(file, "prescale", H5T_NATIVE_UINT32, a.run.prescale, where);
  hdf5::replace_string_attribute(file, "software_version", a.run.software_version, where);
  if (!a.recovered.empty()) hdf5::replace_string_attribute(file, "recovered", a.recovered, where);
}

void sync_directory_of(const fs::path& path) { sync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path()); }

void sync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: opening to sync failed: {}", path.string(), std::strerror(errno)));
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) throw std::runtime_error(fmt::format("{}: fsync failed: {}", path.string(), std::strerror(error)));
}

RecordingFile::RecordingFile(fs::path final_path, const RecordingFileOptions& options, FileAttributes attributes)
    : final_path_(std::move(final_path)),
      temporary_path_(final_path_.string() + options.temporary_suffix),
      swmr_(options.swmr),
      attributes_(std::move(attributes)),
      opened_(std::chrono::steady_clock::now()),
      metadata_type_(metadata_memory_type()) {
  hdf5::silence_errors_on_this_thread();
  const std::string where = temporary_path_.string();
  const Handle access = file_access(where);
  // EXCL: never truncate a file of another writer.
  file_ = Handle(check(H5Fcreate(where.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get()), where, "creating the file"), H5Fclose);
  try {
    writing([&] { create(options.compression_level); });
  } catch (...) {
    abandon();
    std::error_code ignored;
    fs::remove(temporary_path_, ignored);  // it holds no frame: no stray *.writing
    throw;
  }
}

void RecordingFile::create(int compression_level) {
  const std::string where = temporary_path_.string();
  const std::array<hsize_t, 2> frame_shape{wire::kWires, wire::kTicks};
  const std::array<hsize_t, 3> frame_chunk{1, wire::kWires, wire::kTicks};  // one frame: any frame reads alone
  frames_ = create_growing_dataset(file_.get(), "frames", H5T_STD_U16LE, frame_shape, frame_chunk, compression_level, true, where);
  hdf5::replace_string_attribute(frames_.get(), "description", kFramesDescription, where);
  const Handle file_type(check(H5Tcopy(metadata_type_.get()), where, "creating /metadata"), H5Tclose);
  check(H5Tpack(file_type.get()), where, "creating /metadata");  // no padding on disk
  const std::array<hsize_t, 1> metadata_chunk{kMetadataChunkRows};
  metadata_ = create_growing_dataset(file_.get(), "metadata", file_type.get(), {}, metadata_chunk, compression_level, false, where);
  hdf5::replace_string_attribute(metadata_.get(), "description", kMetadataDescription, where);
  write_file_attributes(file_.get(), attributes_, where);
  // From here on no object or attribute may be created until SWMR ends (finish()).
  if (swmr_) check(H5Fstart_swmr_write(file_.get()), where, "starting SWMR write");
}

RecordingFile::~RecordingFile() {
  if (!finished_) abandon();
}

double RecordingFile::age_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - opened_).count();
}

template <typename Step>
void RecordingFile::writing(Step&& step) {
  if (broken_) throw std::runtime_error(fmt::format("{}: an earlier write failed", temporary_path_.string()));
  try {
    step();
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void RecordingFile::write(std::span<const std::uint16_t> pixels, std::span<const MetadataRow> rows) {
  hdf5::silence_errors_on_this_thread();
  const std::string where = temporary_path_.string();
  const hsize_t count = rows.size();
  writing([&] {
    append_rows(frames_.get(), count, pixels.data(), H5T_NATIVE_UINT16, where, fmt::format("writing {} frames to /frames", count));
    append_rows(metadata_.get(), count, rows.data(), metadata_type_.get(), where, fmt::format("writing {} rows to /metadata", count));
  });
  attributes_.frames += count;
  hsize_t size = 0;
  check(H5Fget_filesize(file_.get(), &size), where, "reading the file size");
  // In SWMR mode the library may hold the last chunks before they reach the file: count the chunks'
  // stored bytes too.
  const std::uint64_t stored = H5Dget_storage_size(frames_.get()) + H5Dget_storage_size(metadata_.get());
  bytes_ = std::max<std::uint64_t>(size, stored);
}

void RecordingFile::flush() {
  hdf5::silence_errors_on_this_thread();
  const std::string where = temporary_path_.string();
  writing([&] {
    check(H5Fflush(file_.get(), H5F_SCOPE_LOCAL), where, "flushing");
    void* handle = nullptr;
    check(H5Fget_vfd_handle(file_.get(), H5P_DEFAULT, &handle), where, "flushing");
    if (::fdatasync(*static_cast<int*>(handle)) != 0) {
      throw std::runtime_error(fmt::format("{}: fdatasync failed: {}", where, std::strerror(errno)));
    }
  });
}

void RecordingFile::close_handles() {
  // The file closes once every object in it has; each handle is released once, whatever happens.
  // The first failure's reason is kept: the later calls clear HDF5's error stack.
  bool failed = false;
  std::string reason;
  for (hdf5::Handle* handle : {&frames_, &metadata_, &file_}) {
    if (handle->release() || failed) continue;
    failed = true;
    reason = hdf5::innermost_error();
  }
  if (!failed) return;
  hdf5::note_unclosable_file();  // half-closed in the library: never to be closed again (see abandon())
  throw std::runtime_error(fmt::format("{}: closing the file failed{}{}", temporary_path_.string(), reason.empty() ? "" : ": ", reason));
}

void RecordingFile::write_final_attributes() {
  const std::string where = temporary_path_.string();
  const Handle access = file_access(where);
  file_ = Handle(check(H5Fopen(where.c_str(), H5F_ACC_RDWR, access.get()), where, "reopening to write the final attributes"), H5Fclose);
  write_file_attributes(file_.get(), attributes_, where);
  close_handles();
}

void RecordingFile::finish(const wire::RunInfo& run, std::optional<WallTime> stop) {
  hdf5::silence_errors_on_this_thread();
  attributes_.run = run;
  attributes_.stop = stop ? std::move(*stop) : wall_time_now();
  writing([&] {
    if (swmr_) {
      close_handles();  // ends SWMR: attributes can be created again
      write_final_attributes();
    } else {
      write_file_attributes(file_.get(), attributes_, temporary_path_.string());
      close_handles();
    }
    sync_path(temporary_path_);  // the data is on disk before the name says it is complete
  });
  std::error_code error;
  fs::rename(temporary_path_, final_path_, error);
  if (error) {
    throw std::runtime_error(fmt::format("{}: renaming to {} failed: {}", temporary_path_.string(), final_path_.string(), error.message()));
  }
  sync_directory_of(final_path_);
  finished_ = true;
}

void RecordingFile::abandon() noexcept {
  if (broken_ && file_.valid()) detach_from_disk(file_.get());
  // After detach_from_disk() closing only writes into memory, so it normally succeeds. When it still
  // fails (the file-size limit, RLIMIT_FSIZE, applies to memory files too), close_handles() notes
  // the half-closed file that the library's shutdown would close again and crash on.
  try {
    close_handles();
  } catch (const std::exception&) {
  }
}

}  // namespace larsel::pipeline
