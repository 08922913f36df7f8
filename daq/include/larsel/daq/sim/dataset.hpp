#pragma once
// Labelled simulated data sets in HDF5 (`larsel simulate` output):
//   /frames                    uint16 [N][480][64], wire-major as Frame, chunks of 16 frames, shuffle + deflate
//   /truth/<field>             one entry per frame (label, nu_energy_mev, electron_energy_mev,
//                              visible_energy_mev, wire_min, wire_max, tick_min, tick_max,
//                              vertex_wire, vertex_tick, vertex_drift_cm, timestamp, radiological_count)
//                              and event (continuous streams: the neutrino event in the frame, -1 none)
//   /radiological/<field>      one entry per radiological deposit: frame, kind, wire, tick, drift_cm, energy_mev
//   continuous streams (`larsel simulate --continuous`) also have
//   /events/<field>            one entry per neutrino event: id, nu_energy_mev, electron_energy_mev,
//                              visible_energy_mev, vertex_tick (stream ticks), vertex_wire, vertex_drift_cm, first_frame
//   /event_frames/<field>      one entry per event and frame it reaches: event, frame, visible_energy_mev
//   and the attributes stream_frames, stream_events
//   attributes: config (YAML text of the full configuration), seed, software, format_version, layout
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "larsel/daq/frame.hpp"
#include "larsel/daq/sim/truth.hpp"

namespace larsel::daq::sim {

inline constexpr std::uint32_t kDatasetFormatVersion = 1;
inline constexpr std::size_t kChunkFrames = 16;  // frames per HDF5 chunk (983 KB raw)
using FramePixels = std::span<const std::uint16_t, Frame::kPixels>;

/// Compress up to kChunkFrames frames (count x 30720 values) into one chunk
/// as HDF5's shuffle + deflate filters would store it, so any HDF5 reader
/// decodes it. zlib's RLE strategy: noise has no long matches to find, and it
/// is 3x faster than level-1 deflate for 0.51 instead of 0.39 of the size
/// (docs/simulation.md). Thread-safe: workers encode in parallel.
void encode_chunk(std::span<const std::uint16_t> frames, std::vector<std::byte>& out);

class DatasetWriter {
 public:
  /// Creates `path`.tmp; close() renames it to `path`. Throws std::runtime_error naming the path.
  DatasetWriter(const std::filesystem::path& path, const std::string& config_yaml, std::uint64_t seed);
  ~DatasetWriter();  // without close(): the temporary file is removed
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  void append(FramePixels pixels, const FrameTruth& truth);
  /// A chunk made by encode_chunk from truth.size() frames; only at a chunk boundary.
  void append_encoded(std::span<const std::byte> chunk, std::span<const FrameTruth> truth);
  /// Mark the data set as a continuous stream of `frames` frames with `events` neutrino events.
  void set_stream(std::uint64_t frames, std::uint64_t events);
  /// Neutrino events of a continuous stream, in id order (their frames may come later).
  void append_events(std::span<const EventTruth> events);
  void close();
  [[nodiscard]] std::size_t size() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class DatasetReader {
 public:
  /// Throws std::runtime_error saying what is missing or inconsistent in `path`.
  explicit DatasetReader(const std::filesystem::path& path);
  ~DatasetReader();
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;

  [[nodiscard]] std::size_t size() const noexcept;
  void read_frame(std::size_t index, std::span<std::uint16_t, Frame::kPixels> out) const;
  /// Frames [first, first + count) into `out` (count x 30720 values).
  void read_frames(std::size_t first, std::size_t count, std::span<std::uint16_t> out) const;
  [[nodiscard]] const FrameTruth& truth(std::size_t index) const;
  [[nodiscard]] const std::string& config_yaml() const noexcept;
  [[nodiscard]] std::uint64_t seed() const noexcept;
  /// A continuous stream: consecutive frames follow each other in time, events() holds its neutrino events.
  [[nodiscard]] bool continuous() const noexcept;
  [[nodiscard]] const std::vector<EventTruth>& events() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace larsel::daq::sim
