#pragma once
// One HDF5 file of selected frames (layout: selected_frame_writer.hpp and
// docs/recording.md), written under a temporary name and renamed when complete.
//
// Crash safety (issue 19): a file being written is in HDF5's SWMR mode (single
// writer, multiple readers). Its metadata is flushed in dependency order, so
// the file on disk is consistent at every instant; flush() (once a second in
// the recorder) hands every frame written so far to the kernel and fsyncs.
// After a SIGKILL or a power cut the `.writing` file opens with SWMR read
// (h5py: File(path, "r", swmr=True)) and `larsel recover` turns it into a
// normal file. finish() leaves SWMR mode, writes the final attributes, fsyncs
// and only then renames.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "hdf5_handle.hpp"
#include "larsel/pipeline/wire_format.hpp"

namespace larsel::pipeline {

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

MetadataRow to_metadata_row(const wire::FrameHeader& h);

/// The in-memory compound type of MetadataRow (the file type is the same, packed).
hdf5::Handle metadata_memory_type();

/// A wall-clock instant in the three forms the files use.
struct WallTime {
  std::uint64_t unix_ns = 0;
  std::string iso8601;  // 2025-01-31T12:34:56.123456Z
  std::string compact;  // 20250131T123456Z (file names)
};
WallTime wall_time_now();
WallTime wall_time_at(std::chrono::system_clock::time_point time);

/// What a file's attributes say. Written when the file opens and again, final, when it closes.
struct FileAttributes {
  wire::RunInfo run;
  std::uint64_t file_index = 0;
  WallTime start, stop;  // stop: empty until the file closes
  std::uint64_t frames = 0, frames_missed = 0;
  std::string recovered;  // set by `larsel recover`: what it did (empty: a normally closed file)
};

struct RecordingFileOptions {
  int compression_level = 1;
  bool swmr = true;  // crash-safe while written (a recovered copy is written in one go: false)
  std::string temporary_suffix = ".writing";
};

class RecordingFile {
 public:
  /// Creates `final_path` + suffix exclusively (never truncates another writer's file).
  /// Throws std::runtime_error naming the file and the step on failure (and removes what it created).
  RecordingFile(std::filesystem::path final_path, const RecordingFileOptions& options, FileAttributes attributes);
  ~RecordingFile();  // abandon() if not finished
  RecordingFile(const RecordingFile&) = delete;
  RecordingFile& operator=(const RecordingFile&) = delete;

  /// Appends rows.size() frames (pixels: 480 x 64 per frame). Throws std::runtime_error naming the file.
  void write(std::span<const std::uint16_t> pixels, std::span<const MetadataRow> rows);
  /// Makes everything written so far durable: HDF5 flush, then fdatasync.
  void flush();
  /// Leaves SWMR, writes the final attributes (stop time: now, unless given), fsyncs, renames to the
  /// final name, fsyncs the directory.
  void finish(const wire::RunInfo& run, std::optional<WallTime> stop = std::nullopt);
  /// Gives the file up, leaving the temporary file where it is (consistent up to its last flush:
  /// `larsel recover` reads it). After a failed write, flush or close, the file is first detached
  /// from the disk (its descriptor now points to memory), so closing it cannot fail or touch the
  /// file again (HDF5 1.10 crashes when a file whose close failed is closed again). Idempotent.
  void abandon() noexcept;

  void add_frames_missed(std::uint64_t n) { attributes_.frames_missed += n; }
  void set_recovered(std::string what) { attributes_.recovered = std::move(what); }
  [[nodiscard]] std::uint64_t run_number() const { return attributes_.run.run; }
  [[nodiscard]] std::uint64_t frames() const { return attributes_.frames; }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }
  [[nodiscard]] double age_seconds() const;
  [[nodiscard]] const std::filesystem::path& final_path() const { return final_path_; }
  [[nodiscard]] const std::filesystem::path& temporary_path() const { return temporary_path_; }

 private:
  void create(int compression_level);
  /// Runs a step that writes to the file; a failure marks the file broken (see abandon()) and is rethrown.
  template <typename Step>
  void writing(Step&& step);
  void close_handles();
  void write_final_attributes();

  std::filesystem::path final_path_, temporary_path_;
  bool swmr_;
  FileAttributes attributes_;
  std::chrono::steady_clock::time_point opened_;
  hdf5::Handle metadata_type_;
  hdf5::Handle file_, frames_, metadata_;
  std::uint64_t bytes_ = 0;
  bool finished_ = false;
  bool broken_ = false;
};

/// Writes every attribute of `a` on the open file `file` (replacing existing ones).
void write_file_attributes(hid_t file, const FileAttributes& a, std::string_view where);

/// fsync of a path (file or directory); throws std::runtime_error naming it on failure.
void sync_path(const std::filesystem::path& path);
/// fsync of the directory holding `path` (after a rename or a removal in it).
void sync_directory_of(const std::filesystem::path& path);

}  // namespace larsel::pipeline
