#pragma once
// The cache of preprocessed image sets: one image-set file (image_set_file.hpp) per (source, key),
// named <stem>-<hash of key>.h5, holding the key itself so a hash collision or a stale file is
// detected. A cache file that cannot be read is rebuilt.
#include <filesystem>
#include <optional>
#include <string>

#include "larsel/models/image_set.hpp"

namespace larsel::models::detail {

class ImageCache {
 public:
  /// An empty `directory` disables the cache.
  ImageCache(std::filesystem::path directory, const std::string& stem, std::string key);
  [[nodiscard]] std::optional<ImageSet> load() const;
  /// Writes `path`.tmp and renames it; throws std::runtime_error naming the file.
  void store(const ImageSet& set, const std::string& source, const std::string& preprocess_config) const;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  std::string key_;
};

}  // namespace larsel::models::detail
