#pragma once
// Strict reading of one mapping of a YAML configuration: unknown keys,
// values of the wrong type and values out of range are ConfigErrors that name
// the file, the section and the key. Absent keys keep their defaults.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "larsel/daq/errors.hpp"

namespace larsel::daq {

/// Parses `text`; a syntax error becomes a ConfigError naming `source` and the line.
inline YAML::Node load_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: invalid YAML at line {}: {}", source, e.mark.line + 1, e.msg));
  }
}

class YamlSection {
 public:
  /// `where` names the section in messages ("pre.yaml: threshold"); `keys` are the allowed ones.
  YamlSection(const YAML::Node& node, std::string where, const std::set<std::string>& keys)
      : node_(node), where_(std::move(where)) {
    if (!node_ || node_.IsNull()) return;
    if (!node_.IsMap()) throw ConfigError(fmt::format("{}: expected a mapping", where_));
    for (const auto& item : node_) {
      const auto key = item.first.as<std::string>();
      if (!keys.contains(key)) throw ConfigError(fmt::format("{}.{}: unknown key", where_, key));
    }
  }

  [[nodiscard]] bool has(const char* key) const { return node_ && node_.IsMap() && node_[key]; }
  [[nodiscard]] YAML::Node child(const char* key) const { return has(key) ? node_[key] : YAML::Node(); }

  void read(const char* key, double& value, double min, double max) const {
    if (!has(key)) return;
    value = number(node_[key], key);
    check_range(key, value, min, max);
  }
  void read(const char* key, unsigned& value, unsigned min, unsigned max) const {
    if (!has(key)) return;
    value = integer<unsigned>(node_[key], key, min, max);
  }
  void read(const char* key, int& value, int min, int max) const {
    if (!has(key)) return;
    value = integer<int>(node_[key], key, min, max);
  }
  void read(const char* key, bool& value) const {
    if (!has(key)) return;
    try {
      value = node_[key].as<bool>();
    } catch (const YAML::Exception&) {
      throw ConfigError(fmt::format("{}.{}: '{}' is not true or false", where_, key, node_[key].Scalar()));
    }
  }
  /// A list of integers in [min, max] with 1 to max_size entries.
  void read(const char* key, std::vector<int>& values, int min, int max, std::size_t max_size) const {
    if (!has(key)) return;
    const YAML::Node list = node_[key];
    if (!list.IsSequence() || list.size() == 0 || list.size() > max_size) {
      throw ConfigError(fmt::format("{}.{}: expected a list of 1 to {} integers", where_, key, max_size));
    }
    values.clear();
    for (const auto& item : list) values.push_back(integer<int>(item, key, min, max));
  }
  /// One of the names in `choices`.
  template <typename T>
  void read_choice(const char* key, T& value, const std::map<std::string, T>& choices) const {
    if (!has(key)) return;
    const auto it = choices.find(node_[key].Scalar());
    if (it != choices.end()) {
      value = it->second;
      return;
    }
    std::string names;
    for (const auto& [name, v] : choices) names += (names.empty() ? "" : ", ") + name;
    throw ConfigError(fmt::format("{}.{}: '{}' is not one of {}", where_, key, node_[key].Scalar(), names));
  }

 private:
  double number(const YAML::Node& node, const char* key) const {
    try {
      return node.as<double>();
    } catch (const YAML::Exception&) {
      throw ConfigError(fmt::format("{}.{}: '{}' is not a number", where_, key, node.Scalar()));
    }
  }
  void check_range(const char* key, double value, double min, double max) const {
    if (!(value >= min && value <= max)) {
      throw ConfigError(fmt::format("{}.{}: {} is outside [{}, {}]", where_, key, value, min, max));
    }
  }
  template <typename T>
  T integer(const YAML::Node& node, const char* key, T min, T max) const {
    const double v = number(node, key);
    check_range(key, v, min, max);
    if (v != static_cast<double>(static_cast<long long>(v))) {
      throw ConfigError(fmt::format("{}.{}: {} is not a whole number", where_, key, v));
    }
    return static_cast<T>(v);
  }

  YAML::Node node_;
  std::string where_;
};

}  // namespace larsel::daq
