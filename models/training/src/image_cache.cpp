#include "image_cache.hpp"

#include <fmt/format.h>

#include "larsel/core/hashing.hpp"
#include "larsel/models/image_set_file.hpp"

namespace larsel::models::detail {

ImageCache::ImageCache(std::filesystem::path directory, const std::string& stem, std::string key) : key_(std::move(key)) {
  if (!directory.empty()) path_ = directory / fmt::format("{}-{}.h5", stem, core::fnv1a_64_hex(key_));
}

std::optional<ImageSet> ImageCache::load() const {
  if (path_.empty() || !std::filesystem::exists(path_)) return std::nullopt;
  try {
    ImageSetFile file = read_image_set(path_);
    if (file.attributes.key != key_) return std::nullopt;  // a hash collision or a stale file: rebuilt
    return std::move(file.set);
  } catch (const std::runtime_error&) {
    return std::nullopt;  // unreadable: rebuilt and overwritten
  }
}

void ImageCache::store(const ImageSet& set, const std::string& source, const std::string& preprocess_config) const {
  if (path_.empty()) return;
  write_image_set(path_, set, {source, preprocess_config, "", key_});
}

}  // namespace larsel::models::detail
