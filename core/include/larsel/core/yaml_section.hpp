#pragma once
// Strict reading of one mapping of a YAML configuration: unknown keys,
// values of the wrong type and values out of range are ConfigErrors that name
// the file, the section and the key. Absent keys keep their defaults.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "larsel/core/errors.hpp"

namespace larsel::core {

/// Throws a ConfigError naming `source`, the key and its line when a mapping anywhere in `node` holds
/// the same key twice (yaml-cpp keeps both pairs, and a lookup silently takes the first).
inline void reject_duplicate_keys(const YAML::Node& node, const std::string& source) {
  if (node.IsSequence()) {
    for (const auto& item : node) reject_duplicate_keys(item, source);
    return;
  }
  if (!node.IsMap()) return;
  std::set<std::string> keys;
  for (const auto& item : node) {
    if (item.first.IsScalar() && !keys.insert(item.first.Scalar()).second) {
      throw ConfigError(fmt::format("{}: duplicate key '{}' at line {}", source, item.first.Scalar(), item.first.Mark().line + 1));
    }
    reject_duplicate_keys(item.second, source);
  }
}

/// The text of a mapping key or of a scalar value; a list or a mapping in its place is a ConfigError naming
/// `where` and the line (yaml-cpp's as<std::string>() would throw a bare "bad conversion" instead).
inline std::string scalar_text(const YAML::Node& node, const std::string& where) {
  if (node.IsScalar()) return node.Scalar();
  throw ConfigError(fmt::format("{}: line {}: expected a name or a value, not a list or a mapping", where, node.Mark().line + 1));
}

/// The last line of defence of a config parser (its function-try-block): a yaml-cpp exception no reader
/// anticipated, as a ConfigError naming `source` and the line.
inline ConfigError config_error_from(const YAML::Exception& e, const std::string& source) {
  if (e.mark.is_null()) return ConfigError(fmt::format("{}: {}", source, e.msg));
  return ConfigError(fmt::format("{}: line {}: {}", source, e.mark.line + 1, e.msg));
}

/// Parses `text`; a syntax error or a duplicate key becomes a ConfigError naming `source` and the line.
inline YAML::Node load_yaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: invalid YAML at line {}: {}", source, e.mark.line + 1, e.msg));
  }
  reject_duplicate_keys(root, source);
  return root;
}

class YamlSection {
 public:
  /// `where` names the section in messages ("pre.yaml: threshold"); `keys` are the allowed ones.
  YamlSection(const YAML::Node& node, std::string where, const std::set<std::string>& keys)
      : node_(node), where_(std::move(where)) {
    if (!node_ || node_.IsNull()) return;
    if (!node_.IsMap()) throw ConfigError(fmt::format("{}: expected a mapping", where_));
    for (const auto& item : node_) {
      const auto key = scalar_text(item.first, where_);
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
  /// Counts, seeds, sizes: exact for decimal digits beyond 2^53, and 1e6 is read too; a fraction, a
  /// negative value or one outside [min, max] is an error naming the key.
  void read(const char* key, std::uint64_t& value, std::uint64_t min, std::uint64_t max) const {
    if (!has(key)) return;
    const YAML::Node node = node_[key];
    std::uint64_t exact = 0;
    const std::string text = node.IsScalar() ? node.Scalar() : std::string();
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), exact);
    if (!text.empty() && error == std::errc() && end == text.data() + text.size()) {
      if (exact < min || exact > max) throw ConfigError(fmt::format("{}.{}: {} is outside [{}, {}]", where_, key, exact, min, max));
      value = exact;
      return;
    }
    const double v = number(node, key);
    check_range(key, v, static_cast<double>(min), static_cast<double>(max));
    check_whole(key, v);
    if (v >= 0x1p64) throw ConfigError(fmt::format("{}.{}: {} is outside [{}, {}]", where_, key, v, min, max));
    value = static_cast<std::uint64_t>(v);
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
    check_whole(key, v);
    return static_cast<T>(v);
  }
  void check_whole(const char* key, double value) const {
    if (value != std::trunc(value)) throw ConfigError(fmt::format("{}.{}: {} is not a whole number", where_, key, value));
  }

  YAML::Node node_;
  std::string where_;
};

}  // namespace larsel::core
