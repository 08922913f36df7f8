// HDF5 recording of selected frames: layout in selected_frame_writer.hpp and docs/recording.md.
#include "larsel/pipeline/selected_frame_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <optional>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "recording_file.hpp"

namespace larsel::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kFramePixels = wire::kWires * wire::kTicks;

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
  std::vector<std::uint16_t> pixels;  // frames_per_write frames, allocated once
  std::vector<MetadataRow> rows;
  std::size_t buffered = 0;
  std::unique_ptr<RecordingFile> file;
  std::optional<std::uint64_t> indexed_run;  // the run next_index counts for
  std::uint64_t next_index = 0;
  std::uint64_t pending_frames_missed = 0;   // reported while no file was open
  RecordingStats stats;
  std::vector<fs::path> closed_files;
  std::vector<fs::path> abandoned_files;

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
    FileAttributes attributes{run, next_index, wall_time_now(), {}, 0, pending_frames_missed, {}};
    const std::string name = fmt::format("{}{:04d}_{}.h5", run_prefix(run.run), next_index, attributes.start.compact);
    file = std::make_unique<RecordingFile>(config.directory / name, RecordingFileOptions{config.compression_level, true, ".writing"},
                                           std::move(attributes));
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
    write_buffer();
    file->finish(run);  // on failure the file stays here for give_up() to account for
    const std::unique_ptr<RecordingFile> closing = std::move(file);
    const fs::path& path = closing->final_path();
    std::error_code error;
    const auto size = fs::file_size(path, error);
    stats.bytes_closed += error ? 0 : size;
    ++stats.files_closed;
    closed_files.push_back(path);
    spdlog::debug("closed {}", path.string());
  }

  /// After a write error: the open file is given up (kept as *.writing, consistent up to its last
  /// flush, unless it holds no frame), the buffered frames are lost. Returns the error to throw.
  std::runtime_error give_up(const std::exception& cause, std::uint64_t also_lost = 0) {
    const std::uint64_t lost = buffered + also_lost;
    stats.frames_lost += lost;
    buffered = 0;
    std::string kept = "no file was open";
    if (file) {
      file->abandon();
      const fs::path temporary = file->temporary_path();
      std::error_code ignored;
      if (file->frames() == 0) {
        fs::remove(temporary, ignored);
        kept = fmt::format("{} held no frame and was removed", temporary.string());
      } else {
        abandoned_files.push_back(temporary);
        kept = fmt::format("{} keeps its frames up to the last flush (`larsel recover` closes it)", temporary.string());
      }
      file.reset();
    }
    return std::runtime_error(fmt::format("{}; {} frame{} not recorded; {}", cause.what(), lost, lost == 1 ? "" : "s", kept));
  }

  /// Runs a step that touches the file; on failure gives the file up and throws what happened.
  template <typename Step>
  void guarded(Step&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      throw give_up(e);
    }
  }
};

SelectedFrameWriter::SelectedFrameWriter(RecordingConfig config, wire::RunInfo run) : impl_(std::make_unique<Impl>()) {
  if (config.compression_level < 0 || config.compression_level > 9) {
    throw std::runtime_error(fmt::format("recording: compression level {} is not in 0-9", config.compression_level));
  }
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
  try {
    if (s.file && s.rotation_due()) s.close_file();
    if (!s.file) s.open_file();
  } catch (const std::exception& e) {
    throw s.give_up(e, 1);  // this frame too: every frame append() was given is in a file or in frames_lost
  }
  std::copy(adc.begin(), adc.end(), s.pixels.begin() + static_cast<std::ptrdiff_t>(s.buffered * kFramePixels));
  s.rows[s.buffered++] = to_metadata_row(header);
  if (s.buffer_full()) s.guarded([&] { s.write_buffer(); });
}

void SelectedFrameWriter::flush() {
  Impl& s = *impl_;
  if (!s.file) return;
  s.guarded([&] {
    s.write_buffer();
    s.file->flush();
  });
}

void SelectedFrameWriter::set_run_info(const wire::RunInfo& run) {
  // A new run starts a new file: a file and its name belong to one run.
  Impl& s = *impl_;
  if (s.file && s.file->run_number() != run.run) s.guarded([&] { s.close_file(); });
  s.run = run;
}

void SelectedFrameWriter::add_frames_missed(std::uint64_t n) {
  if (impl_->file) impl_->file->add_frames_missed(n);
  else impl_->pending_frames_missed += n;
}

void SelectedFrameWriter::close() {
  Impl& s = *impl_;
  s.guarded([&] { s.close_file(); });
}

const RecordingStats& SelectedFrameWriter::stats() const noexcept { return impl_->stats; }

const std::vector<std::filesystem::path>& SelectedFrameWriter::files() const noexcept { return impl_->closed_files; }

const std::vector<std::filesystem::path>& SelectedFrameWriter::abandoned_files() const noexcept { return impl_->abandoned_files; }

bool hdf5_shutdown_would_crash() noexcept { return hdf5::unclosable_file_seen(); }

}  // namespace larsel::pipeline
