// HDF5 recording of selected frames: layout in selected_frame_writer.hpp and docs/recording.md.
#include "larsel/pipeline/selected_frame_writer.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include <H5Cpp.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace larsel::pipeline {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

static_assert(std::endian::native == std::endian::little, "the in-memory frames and metadata are written as little-endian");

constexpr const char* kFileFormat = "larsel.selected.v1";
constexpr const char* kWritingSuffix = ".writing";
constexpr std::size_t kFramePixels = wire::kWires * wire::kTicks;
constexpr hsize_t kMetadataChunkRows = 256;  // ~13 kB per chunk
constexpr const char* kFramesDescription =
    "frame, wire, tick: ADC counts of the 480 collection wires of one APA face over 64 ticks of 512 ns";
constexpr const char* kMetadataDescription =
    "one row per frame of /frames. timestamp: 62.5 MHz ticks of the first sample; sequence: frame periods since the "
    "face's first frame; face: 2 * APA + face in APA; score, threshold: CNN logit and selection threshold; decision: "
    "0 rejected, 1 selected, 2 prescaled; flags: bit 0 incomplete image, bit 1 truth known, bit 2 truth signal; "
    "missing_streams: bit i set when stream i of the face did not contribute; truth_*: MeV, NaN when unknown; "
    "arrival_to_decision_us: image built to decision";

/// One row of /metadata in memory. The file stores the same fields packed, in this order.
struct MetadataRow {
  std::uint64_t timestamp;
  std::uint64_t sequence;
  std::uint32_t face;
  double score;
  double threshold;
  std::uint8_t decision;
  std::uint8_t flags;
  std::uint32_t missing_streams;
  float truth_visible_energy_mev;
  float truth_nu_energy_mev;
  double arrival_to_decision_us;
};

MetadataRow to_row(const wire::FrameHeader& h) {
  return {h.timestamp, h.sequence, h.face, h.score, h.threshold, static_cast<std::uint8_t>(h.decision), h.flags,
          h.missing_streams, h.truth_visible_energy_mev, h.truth_nu_energy_mev, h.arrival_to_decision_us};
}

H5::EnumType decision_type() {
  H5::EnumType type(H5::PredType::NATIVE_UINT8);
  for (const auto decision : {wire::Decision::rejected, wire::Decision::selected, wire::Decision::prescaled}) {
    auto value = static_cast<std::uint8_t>(decision);  // insert() takes a non-const pointer
    type.insert(wire::decision_name(decision), &value);
  }
  return type;
}

H5::CompType metadata_memory_type() {
  H5::CompType type(sizeof(MetadataRow));
  type.insertMember("timestamp", offsetof(MetadataRow, timestamp), H5::PredType::NATIVE_UINT64);
  type.insertMember("sequence", offsetof(MetadataRow, sequence), H5::PredType::NATIVE_UINT64);
  type.insertMember("face", offsetof(MetadataRow, face), H5::PredType::NATIVE_UINT32);
  type.insertMember("score", offsetof(MetadataRow, score), H5::PredType::NATIVE_DOUBLE);
  type.insertMember("threshold", offsetof(MetadataRow, threshold), H5::PredType::NATIVE_DOUBLE);
  type.insertMember("decision", offsetof(MetadataRow, decision), decision_type());
  type.insertMember("flags", offsetof(MetadataRow, flags), H5::PredType::NATIVE_UINT8);
  type.insertMember("missing_streams", offsetof(MetadataRow, missing_streams), H5::PredType::NATIVE_UINT32);
  type.insertMember("truth_visible_energy_mev", offsetof(MetadataRow, truth_visible_energy_mev), H5::PredType::NATIVE_FLOAT);
  type.insertMember("truth_nu_energy_mev", offsetof(MetadataRow, truth_nu_energy_mev), H5::PredType::NATIVE_FLOAT);
  type.insertMember("arrival_to_decision_us", offsetof(MetadataRow, arrival_to_decision_us), H5::PredType::NATIVE_DOUBLE);
  return type;
}

/// The innermost message of HDF5's error stack (often the system error), or "" when empty.
std::string innermost_hdf5_error() {
  std::string message;
  const auto take_first = [](unsigned depth, const H5E_error2_t* error, void* out) -> herr_t {
    if (depth == 0 && error->desc != nullptr) *static_cast<std::string*>(out) = error->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_first, &message);
  return message;
}

/// Runs `action`, turning an HDF5 failure into "<file>: <what> failed: <why>".
template <typename Action>
void hdf5_guard(const fs::path& file, std::string_view what, Action&& action) {
  try {
    action();
  } catch (const H5::Exception& e) {
    const std::string detail = innermost_hdf5_error();
    throw std::runtime_error(fmt::format("{}: {} failed: {}{}", file.string(), what, e.getDetailMsg(),
                                         detail.empty() ? "" : " (" + detail + ")"));
  }
}

/// A wall-clock instant in the three forms the files use.
struct WallTime {
  std::uint64_t unix_ns = 0;
  std::string iso8601;  // 2025-01-31T12:34:56.123456Z
  std::string compact;  // 20250131T123456Z (file names)
};

WallTime wall_time_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
  const auto seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return {ns, fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", utc, ns % 1'000'000'000 / 1000), fmt::format("{:%Y%m%dT%H%M%SZ}", utc)};
}

/// What a file's attributes say. Written when the file opens and again, final, when it closes.
struct FileAttributes {
  wire::RunInfo run;
  std::uint64_t file_index = 0;
  WallTime start, stop;  // stop: empty until the file closes
  std::uint64_t frames = 0, frames_missed = 0;
};

void replace_string_attribute(H5::H5Object& object, const char* name, const std::string& value) {
  if (object.attrExists(name)) object.removeAttr(name);
  // Variable-length UTF-8: no size limit (config_yaml) and h5py reads it as str.
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, value);
}

template <typename T>
void replace_scalar_attribute(H5::H5Object& object, const char* name, const H5::PredType& type, T value) {
  if (object.attrExists(name)) object.removeAttr(name);
  object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, &value);
}

void write_file_attributes(H5::H5File& file, const FileAttributes& a) {
  replace_string_attribute(file, "format", kFileFormat);
  replace_scalar_attribute(file, "run_number", H5::PredType::NATIVE_UINT64, a.run.run);
  replace_scalar_attribute(file, "file_index", H5::PredType::NATIVE_UINT64, a.file_index);
  replace_string_attribute(file, "start_time_utc", a.start.iso8601);
  replace_scalar_attribute(file, "start_time_unix_ns", H5::PredType::NATIVE_UINT64, a.start.unix_ns);
  replace_string_attribute(file, "stop_time_utc", a.stop.iso8601);
  replace_scalar_attribute(file, "stop_time_unix_ns", H5::PredType::NATIVE_UINT64, a.stop.unix_ns);
  replace_scalar_attribute(file, "frames", H5::PredType::NATIVE_UINT64, a.frames);
  replace_scalar_attribute(file, "frames_missed", H5::PredType::NATIVE_UINT64, a.frames_missed);
  replace_scalar_attribute(file, "run_start_time_unix_ns", H5::PredType::NATIVE_UINT64, a.run.start_time_unix_ns);
  replace_string_attribute(file, "config_yaml", a.run.config_yaml);
  replace_string_attribute(file, "model_file", a.run.model_file);
  replace_string_attribute(file, "model_hash", a.run.model_hash);
  replace_scalar_attribute(file, "threshold", H5::PredType::NATIVE_DOUBLE, a.run.threshold);
  replace_scalar_attribute(file, "prescale", H5::PredType::NATIVE_UINT32, a.run.prescale);
  replace_string_attribute(file, "software_version", a.run.software_version);
}

H5::DataSet create_frames_dataset(H5::H5File& file, int compression_level) {
  const hsize_t dims[3] = {0, wire::kWires, wire::kTicks};
  const hsize_t max_dims[3] = {H5S_UNLIMITED, wire::kWires, wire::kTicks};
  const hsize_t chunk[3] = {1, wire::kWires, wire::kTicks};  // one frame: any frame reads alone
  H5::DSetCreatPropList props;
  props.setChunk(3, chunk);
  if (compression_level > 0) {
    props.setShuffle();
    props.setDeflate(compression_level);
  }
  // No chunk cache: every batch writes whole chunks, which then go straight through the filters to
  // the file, so the file size (the rotation criterion) is current after each batch.
  H5::DSetAccPropList access;
  access.setChunkCache(0, 0, 1.0);
  H5::DataSet frames = file.createDataSet("frames", H5::PredType::STD_U16LE, H5::DataSpace(3, dims, max_dims), props, access);
  replace_string_attribute(frames, "description", kFramesDescription);
  return frames;
}

H5::DataSet create_metadata_dataset(H5::H5File& file, const H5::CompType& memory_type, int compression_level) {
  H5::CompType file_type;
  file_type.copy(memory_type);
  file_type.pack();  // no padding on disk
  const hsize_t dims[1] = {0}, max_dims[1] = {H5S_UNLIMITED}, chunk[1] = {kMetadataChunkRows};
  H5::DSetCreatPropList props;
  props.setChunk(1, chunk);
  if (compression_level > 0) props.setDeflate(compression_level);
  H5::DataSet metadata = file.createDataSet("metadata", file_type, H5::DataSpace(1, dims, max_dims), props);
  replace_string_attribute(metadata, "description", kMetadataDescription);
  return metadata;
}

/// Extends `dataset` along its first dimension by `count` rows and writes them from `data`.
void append_rows(H5::DataSet& dataset, hsize_t count, const void* data, const H5::DataType& memory_type) {
  H5::DataSpace space = dataset.getSpace();
  const int rank = space.getSimpleExtentNdims();
  std::array<hsize_t, 3> dims{};
  space.getSimpleExtentDims(dims.data());
  const hsize_t first = dims[0];
  dims[0] += count;
  dataset.extend(dims.data());
  std::array<hsize_t, 3> start{first, 0, 0};
  std::array<hsize_t, 3> block = dims;
  block[0] = count;
  space = dataset.getSpace();
  space.selectHyperslab(H5S_SELECT_SET, block.data(), start.data());
  dataset.write(data, memory_type, H5::DataSpace(rank, block.data()), space);
}

/// One file being written under its temporary name; finish() completes and renames it.
class RecordingFile {
 public:
  RecordingFile(fs::path final_path, int compression_level, const H5::CompType& metadata_type, FileAttributes attributes)
      : final_path_(std::move(final_path)),
        writing_path_(final_path_.string() + kWritingSuffix),
        metadata_type_(metadata_type),
        attributes_(std::move(attributes)),
        opened_(SteadyClock::now()) {
    // EXCL: never truncate a file of another writer.
    hdf5_guard(writing_path_, "creating the file", [&] { file_ = H5::H5File(writing_path_.string(), H5F_ACC_EXCL); });
    try {
      hdf5_guard(writing_path_, "creating /frames", [&] { frames_ = create_frames_dataset(file_, compression_level); });
      hdf5_guard(writing_path_, "creating /metadata",
                 [&] { metadata_ = create_metadata_dataset(file_, metadata_type_, compression_level); });
      hdf5_guard(writing_path_, "writing the attributes", [&] { write_file_attributes(file_, attributes_); });
    } catch (...) {
      discard();
      throw;
    }
  }
  ~RecordingFile() {
    try {
      close_handles();
    } catch (const H5::Exception& e) {
      spdlog::error("{}: closing failed: {}", writing_path_.string(), e.getDetailMsg());
    }
  }
  RecordingFile(const RecordingFile&) = delete;
  RecordingFile& operator=(const RecordingFile&) = delete;

  void write(std::span<const std::uint16_t> pixels, std::span<const MetadataRow> rows) {
    const hsize_t count = rows.size();
    hdf5_guard(writing_path_, fmt::format("writing {} frames to /frames", count),
               [&] { append_rows(frames_, count, pixels.data(), H5::PredType::NATIVE_UINT16); });
    hdf5_guard(writing_path_, fmt::format("writing {} rows to /metadata", count),
               [&] { append_rows(metadata_, count, rows.data(), metadata_type_); });
    attributes_.frames += count;
    hdf5_guard(writing_path_, "reading the file size", [&] { bytes_ = file_.getFileSize(); });
  }

  /// Writes the final attributes (with the latest run info), closes and renames to the final name.
  void finish(const wire::RunInfo& run) {
    attributes_.run = run;
    attributes_.stop = wall_time_now();
    hdf5_guard(writing_path_, "writing the final attributes", [&] { write_file_attributes(file_, attributes_); });
    hdf5_guard(writing_path_, "closing the file", [&] { close_handles(); });
    std::error_code error;
    fs::rename(writing_path_, final_path_, error);
    if (error) throw std::runtime_error(fmt::format("{}: renaming to {} failed: {}", writing_path_.string(), final_path_.string(), error.message()));
  }

  void add_frames_missed(std::uint64_t n) { attributes_.frames_missed += n; }
  [[nodiscard]] std::uint64_t run_number() const { return attributes_.run.run; }
  [[nodiscard]] hsize_t bytes() const { return bytes_; }
  [[nodiscard]] double age_seconds() const { return std::chrono::duration<double>(SteadyClock::now() - opened_).count(); }
  [[nodiscard]] const fs::path& final_path() const { return final_path_; }

 private:
  void close_handles() {
    frames_.close();  // the file closes only once every object in it is closed
    metadata_.close();
    file_.close();
  }
  /// A file that could not be set up holds no frames: remove it rather than leave a stray *.writing.
  void discard() noexcept {
    try {
      close_handles();
    } catch (const H5::Exception&) {
    }
    std::error_code ignored;
    fs::remove(writing_path_, ignored);
  }

  fs::path final_path_, writing_path_;
  H5::CompType metadata_type_;
  FileAttributes attributes_;
  SteadyClock::time_point opened_;
  H5::H5File file_;
  H5::DataSet frames_, metadata_;
  hsize_t bytes_ = 0;
};

/// Creates `directory` if needed and checks that files can be created in it.
void prepare_directory(const fs::path& directory) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error || !fs::is_directory(directory)) {
    throw std::runtime_error(fmt::format("recording directory {}: cannot create it: {}", directory.string(),
                                         error ? error.message() : "a file of that name exists"));
  }
  const fs::path probe = directory / fmt::format(".larsel-write-probe-{}", ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error(fmt::format("recording directory {}: cannot write in it: {}", directory.string(), std::strerror(errno)));
  }
  ::close(fd);
  fs::remove(probe, error);
}

std::string run_prefix(std::uint64_t run) { return fmt::format("larsel_run{:06d}_", run); }

/// The index after the highest one of `run`'s files already in `directory` (0 if none), so a
/// restarted recorder neither collides with nor sorts before the files of an earlier one.
std::uint64_t next_free_index(const fs::path& directory, std::uint64_t run) {
  const std::string prefix = run_prefix(run);
  std::uint64_t next = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    std::uint64_t index = 0;
    const char* digits = name.data() + prefix.size();
    const auto [end, ec] = std::from_chars(digits, name.data() + name.size(), index);
    if (ec == std::errc() && end != digits && *end == '_') next = std::max(next, index + 1);
  }
  return next;
}

}  // namespace

struct SelectedFrameWriter::Impl {
  RecordingConfig config;
  wire::RunInfo run;
  H5::CompType metadata_type = metadata_memory_type();
  std::vector<std::uint16_t> pixels;  // frames_per_write frames, allocated once
  std::vector<MetadataRow> rows;
  std::size_t buffered = 0;
  std::unique_ptr<RecordingFile> file;
  std::optional<std::uint64_t> indexed_run;  // the run next_index counts for
  std::uint64_t next_index = 0;
  std::uint64_t pending_frames_missed = 0;   // reported while no file was open
  RecordingStats stats;
  std::vector<fs::path> closed_files;

  [[nodiscard]] bool buffer_full() const { return buffered == rows.size(); }

  [[nodiscard]] bool rotation_due() const {
    const bool too_big = config.max_file_mb > 0 && static_cast<double>(file->bytes()) > config.max_file_mb * 1e6;
    const bool too_old = config.max_file_seconds > 0 && file->age_seconds() > config.max_file_seconds;
    return too_big || too_old;
  }

  void open_file() {
    if (indexed_run != run.run) {
      next_index = next_free_index(config.directory, run.run);
      indexed_run = run.run;
    }
    FileAttributes attributes{run, next_index, wall_time_now(), {}, 0, pending_frames_missed};
    const std::string name = fmt::format("{}{:04d}_{}.h5", run_prefix(run.run), next_index, attributes.start.compact);
    file = std::make_unique<RecordingFile>(config.directory / name, config.compression_level, metadata_type, std::move(attributes));
    ++next_index;
    pending_frames_missed = 0;
  }

  void write_buffer() {
    if (buffered == 0) return;
    file->write(std::span(pixels.data(), buffered * kFramePixels), std::span(rows.data(), buffered));
    stats.frames_written += buffered;
    buffered = 0;
  }

  void close_file() {
    if (!file) return;
    write_buffer();  // a failure keeps the file open and the frames buffered: close() may be retried
    const std::unique_ptr<RecordingFile> closing = std::move(file);
    closing->finish(run);
    const fs::path& path = closing->final_path();
    std::error_code error;
    const auto size = fs::file_size(path, error);
    stats.bytes_closed += error ? 0 : size;
    ++stats.files_closed;
    closed_files.push_back(path);
    spdlog::debug("closed {}", path.string());
  }
};

SelectedFrameWriter::SelectedFrameWriter(RecordingConfig config, wire::RunInfo run) : impl_(std::make_unique<Impl>()) {
  if (config.compression_level < 0 || config.compression_level > 9) {
    throw std::runtime_error(fmt::format("recording: compression level {} is not in 0-9", config.compression_level));
  }
  H5::Exception::dontPrint();  // failures are reported as exceptions naming the file
  prepare_directory(config.directory);
  config.frames_per_write = std::max<std::size_t>(config.frames_per_write, 1);
  impl_->pixels.resize(config.frames_per_write * kFramePixels);
  impl_->rows.resize(config.frames_per_write);
  impl_->config = std::move(config);
  impl_->run = std::move(run);
}

SelectedFrameWriter::~SelectedFrameWriter() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("recording: closing the last file failed: {}", e.what());
  }
}

void SelectedFrameWriter::append(const wire::FrameHeader& header, std::span<const std::uint16_t> adc) {
  if (adc.size() != kFramePixels) {
    throw std::runtime_error(fmt::format("recording: a frame has {} ADC values, expected {}", adc.size(), kFramePixels));
  }
  Impl& s = *impl_;
  if (s.buffer_full()) s.write_buffer();  // left full by a failed write
  if (s.file && s.rotation_due()) s.close_file();
  if (!s.file) s.open_file();
  std::copy(adc.begin(), adc.end(), s.pixels.begin() + static_cast<std::ptrdiff_t>(s.buffered * kFramePixels));
  s.rows[s.buffered++] = to_row(header);
  if (s.buffer_full()) s.write_buffer();
}

void SelectedFrameWriter::flush() {
  if (impl_->file) impl_->write_buffer();
}

void SelectedFrameWriter::set_run_info(const wire::RunInfo& run) {
  // A new run starts a new file: a file and its name belong to one run.
  if (impl_->file && impl_->file->run_number() != run.run) impl_->close_file();
  impl_->run = run;
}

void SelectedFrameWriter::add_frames_missed(std::uint64_t n) {
  if (impl_->file) impl_->file->add_frames_missed(n);
  else impl_->pending_frames_missed += n;
}

void SelectedFrameWriter::close() { impl_->close_file(); }

const RecordingStats& SelectedFrameWriter::stats() const noexcept { return impl_->stats; }

const std::vector<std::filesystem::path>& SelectedFrameWriter::files() const noexcept { return impl_->closed_files; }

}  // namespace larsel::pipeline
