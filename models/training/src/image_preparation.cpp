#include "larsel/models/image_preparation.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "frame_pipeline.hpp"
#include "image_cache.hpp"
#include "larsel/daq/sim/dataset.hpp"

namespace larsel::models {

using daq::Frame;

namespace {

/// Walks the frames of one label in file order, reading a chunk of frames at a time.
class LabelCursor {
 public:
  LabelCursor(const daq::sim::DatasetReader& reader, std::vector<std::size_t> indices)
      : reader_(reader), indices_(std::move(indices)), buffer_(daq::sim::kChunkFrames * Frame::kPixels) {}
  [[nodiscard]] bool done() const noexcept { return next_ == indices_.size(); }
  [[nodiscard]] std::size_t taken() const noexcept { return next_; }
  [[nodiscard]] std::size_t total() const noexcept { return indices_.size(); }
  /// The next frame's index and pixels (valid until the following call).
  std::pair<std::size_t, std::span<const std::uint16_t, Frame::kPixels>> take() {
    const std::size_t index = indices_[next_++];
    if (index < first_ || index >= first_ + count_) {
      first_ = index - index % daq::sim::kChunkFrames;
      count_ = std::min(daq::sim::kChunkFrames, reader_.size() - first_);
      reader_.read_frames(first_, count_, std::span(buffer_.data(), count_ * Frame::kPixels));
    }
    return {index, std::span<const std::uint16_t, Frame::kPixels>(buffer_.data() + (index - first_) * Frame::kPixels, Frame::kPixels)};
  }

 private:
  const daq::sim::DatasetReader& reader_;
  std::vector<std::size_t> indices_;
  std::size_t next_ = 0, first_ = 0, count_ = 0;
  std::vector<std::uint16_t> buffer_;
};

ImageSet empty_set(const preprocess::PreprocessConfig& config, std::size_t frames) {
  ImageSet set;
  set.shape = {1, static_cast<int>(config.output_rows()), static_cast<int>(config.output_columns())};
  set.baseline_configs = detail::FramePipeline::baseline_count();
  set.resize(frames);
  return set;
}

/// A continuous stream in its own order, as the readout delivers it (warmed up on its first frames).
ImageSet preprocess_stream(const daq::sim::DatasetReader& reader, const preprocess::PreprocessConfig& config,
                           const PrepareOptions& options) {
  ImageSet set = empty_set(config, reader.size());
  detail::FramePipeline pipeline(config);
  std::vector<std::uint16_t> buffer(daq::sim::kChunkFrames * Frame::kPixels);
  const auto frame = [&](std::size_t k) { return preprocess::FrameAdc(buffer.data() + k * Frame::kPixels, Frame::kPixels); };
  const std::size_t warmup = std::min(options.warmup_frames, reader.size());
  for (std::size_t first = 0; first < warmup; first += daq::sim::kChunkFrames) {
    const std::size_t count = std::min(daq::sim::kChunkFrames, warmup - first);
    reader.read_frames(first, count, std::span(buffer.data(), count * Frame::kPixels));
    for (std::size_t k = 0; k < count; ++k) pipeline.warm_up(frame(k));
  }
  for (std::size_t first = 0; first < reader.size(); first += daq::sim::kChunkFrames) {
    const std::size_t count = std::min(daq::sim::kChunkFrames, reader.size() - first);
    reader.read_frames(first, count, std::span(buffer.data(), count * Frame::kPixels));
    for (std::size_t k = 0; k < count; ++k) {
      pipeline.process(frame(k), set, first + k);
      detail::record_truth(set, first + k, reader.truth(first + k));
    }
    if (options.progress) options.progress(first + count, reader.size());
  }
  return set;
}

ImageSet preprocess_dataset(const std::filesystem::path& path, const preprocess::PreprocessConfig& config,
                            const PrepareOptions& options) {
  const daq::sim::DatasetReader reader(path);
  if (reader.continuous()) return preprocess_stream(reader, config, options);
  std::vector<std::size_t> signal, background;
  for (std::size_t i = 0; i < reader.size(); ++i) {
    (reader.truth(i).label == daq::sim::FrameLabel::signal ? signal : background).push_back(i);
  }
  ImageSet set = empty_set(config, reader.size());
  detail::FramePipeline pipeline(config);
  {
    LabelCursor warmup(reader, std::vector<std::size_t>(background.begin(), background.begin() + static_cast<std::ptrdiff_t>(
                                                                                   std::min(options.warmup_frames, background.size()))));
    while (!warmup.done()) pipeline.warm_up(warmup.take().second);
  }
  LabelCursor signals(reader, std::move(signal)), backgrounds(reader, std::move(background));
  for (std::size_t done = 0; done < reader.size(); ++done) {
    // Take from the class that is behind its share of the file (a proportional interleave).
    const bool take_signal = !signals.done() && (backgrounds.done() || (signals.taken() + 0.5) * static_cast<double>(backgrounds.total()) <
                                                                           (backgrounds.taken() + 0.5) * static_cast<double>(signals.total()));
    const auto [index, pixels] = (take_signal ? signals : backgrounds).take();
    pipeline.process(pixels, set, index);
    detail::record_truth(set, index, reader.truth(index));
    if (options.progress && (done % 1024 == 0 || done + 1 == reader.size())) options.progress(done + 1, reader.size());
  }
  return set;
}

std::string file_identity(const std::filesystem::path& path) {
  std::error_code error;
  const auto canonical = std::filesystem::canonical(path, error);
  if (error) throw std::runtime_error(fmt::format("{}: cannot open the data set: {}", path.string(), error.message()));
  const auto size = std::filesystem::file_size(canonical);
  const auto time = std::filesystem::last_write_time(canonical).time_since_epoch().count();
  return fmt::format("{} {} {}", canonical.string(), size, time);
}

}  // namespace

ImageSet prepare_images(const std::filesystem::path& dataset, const preprocess::PreprocessConfig& config,
                        const PrepareOptions& options) {
  const std::string key = fmt::format("dataset {}\nwarmup {}\n{}", file_identity(dataset), options.warmup_frames,
                                      detail::FramePipeline::describe(config));
  const detail::ImageCache cache(options.cache_dir, dataset.stem().string(), key);
  if (auto cached = cache.load()) return std::move(*cached);
  ImageSet set = preprocess_dataset(dataset, config, options);
  try {
    cache.store(set, dataset.string(), preprocess::to_yaml(config));
  } catch (const std::runtime_error& e) {
    if (options.warn) options.warn(e.what());
  }
  return set;
}

}  // namespace larsel::models
