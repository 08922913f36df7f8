#pragma once
// HDF5 recording of selected frames, written by `larsel record` (from the
// ZeroMQ stream) and by `larsel run` in-process (output.hdf5). Layout of each file:
//   /frames    uint16 [n][480][64], chunked one frame per chunk, shuffle + deflate
//   /metadata  compound [n]: timestamp, sequence, face, score, threshold, decision, flags,
//              missing_streams, truth_visible_energy_mev, truth_nu_energy_mev, arrival_to_decision_us
//   attributes format, run_number, file_index, start/stop time (ISO 8601 UTC and unix ns),
//              frames, config_yaml, model_file, model_hash, threshold, prescale, software_version,
//              frames_missed (gaps in the message counter seen by the recorder), run_start_time_unix_ns
// (docs/recording.md has the types and meanings). NAME is
// larsel_run<run:06>_<index:04>_<UTC start yyyymmddThhmmssZ>; indices continue after the run's files
// already in the directory. A file is written as NAME.h5.writing and renamed to NAME.h5 when closed
// (after an fsync), so every *.h5 in the directory is complete. Files rotate by size or by age, and on
// a new run number. While written, a file is in HDF5 SWMR mode: consistent on disk at every instant,
// holding every frame up to the last flush() (see recording_file.hpp; `larsel recover` closes a
// *.writing left by a crash).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "larsel/pipeline/wire_format.hpp"

namespace larsel::pipeline {

struct RecordingConfig {
  std::filesystem::path directory = "larsel-data";
  double max_file_mb = 1024;      // rotate once a file passes this many 10^6 bytes, checked after each batch (0: never)
  double max_file_seconds = 0;    // rotate once a file is this old (0: never)
  int compression_level = 1;      // deflate 0-9 (0: none)
  std::size_t frames_per_write = 32;  // frames buffered before one HDF5 write (flush() writes early)
};

struct RecordingStats {
  std::uint64_t frames_written = 0;  // frames in the files (buffered ones count once written)
  std::uint64_t files_closed = 0;
  std::uint64_t bytes_closed = 0;  // size on disk of the closed files
  std::uint64_t frames_lost = 0;   // frames handed to append() that a write error kept out of every file
};

class SelectedFrameWriter {
 public:
  /// Creates the directory if needed; throws std::runtime_error naming it when it cannot.
  /// No file is opened until the first frame.
  SelectedFrameWriter(RecordingConfig config, wire::RunInfo run);
  ~SelectedFrameWriter();  // close(), errors logged
  SelectedFrameWriter(const SelectedFrameWriter&) = delete;
  SelectedFrameWriter& operator=(const SelectedFrameWriter&) = delete;

  /// Appends one frame (may rotate first). On a write failure throws std::runtime_error naming the
  /// file and the reason, after giving the open file up (see abandoned_files(); its buffered frames
  /// count in frames_lost). The next append() starts a new file.
  void append(const wire::FrameHeader& header, std::span<const std::uint16_t> adc);
  /// Writes the buffered frames and makes the open file durable (HDF5 flush + fdatasync): after a
  /// crash it holds every frame appended before this call. Failures as for append().
  void flush();
  /// Updates the attributes the next closes write (a recorder learns them from run.info).
  /// A different run number closes the open file: the next frame starts that run's first file.
  void set_run_info(const wire::RunInfo& run);
  /// Adds to the frames_missed attribute of the open file (of the next file if none is open).
  void add_frames_missed(std::uint64_t n);
  /// Flushes, writes the stop time, closes, fsyncs and renames the open file. Idempotent.
  void close();

  [[nodiscard]] const RecordingStats& stats() const noexcept;
  /// The closed files, in order.
  [[nodiscard]] const std::vector<std::filesystem::path>& files() const noexcept;
  /// Files given up after a write error, left as *.writing with the frames flushed before it.
  [[nodiscard]] const std::vector<std::filesystem::path>& abandoned_files() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// True once a recording file could not be closed even after being detached from the disk (a
/// file-size limit): HDF5 1.10 would crash closing it again when the library shuts down at exit, so
/// the process must end with std::_Exit after flushing its output (the data of that file is what it
/// was at its last flush: `larsel recover` reads it).
[[nodiscard]] bool hdf5_shutdown_would_crash() noexcept;

}  // namespace larsel::pipeline
