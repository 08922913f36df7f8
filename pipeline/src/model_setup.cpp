#include "larsel/pipeline/model_setup.hpp"

#include <cmath>
#include <fstream>

#include <boost/uuid/detail/sha1.hpp>
#include <fmt/format.h>

#include "larsel/daq/errors.hpp"

namespace larsel::pipeline {

std::string file_sha1(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot read the model file to hash it", path));
  boost::uuids::detail::sha1 sha1;
  std::array<char, 65536> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) sha1.process_bytes(buffer.data(), static_cast<std::size_t>(in.gcount()));
  boost::uuids::detail::sha1::digest_type digest;
  sha1.get_digest(digest);
  std::string hex;
  for (const auto word : digest) hex += fmt::format("{:08x}", word);
  return hex;
}

double selection_threshold(const SelectionConfig& selection, const models::ModelFile& model, const std::string& model_path) {
  if (!selection.threshold_from_model) return selection.threshold;
  const auto cnn = model.metrics.find("cnn");
  if (cnn != model.metrics.end() && cnn->contains("working_points")) {
    for (const auto& point : (*cnn)["working_points"]) {
      const double target = point.value("target_background_acceptance", 0.0);
      if (std::abs(target - selection.working_point) <= 1e-6 * selection.working_point && point.contains("threshold_logit")) {
        return point["threshold_logit"].get<double>();
      }
    }
  }
  throw daq::ConfigError(fmt::format("selection.threshold: model {} has no working point at background acceptance {} "
                                     "(set selection.threshold to a logit, or working_point to 1e-3, 1e-4 or 1e-5)",
                                     model_path, selection.working_point));
}

}  // namespace larsel::pipeline
