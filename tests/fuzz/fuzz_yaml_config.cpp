// Fuzz harness: the YAML configurations a user writes. The input's first byte picks the loader
// (pipeline `larsel run --config`, preprocess, simulation, training recipe, compression recipe), the
// rest is the YAML text. A loader must accept the text or throw core::ConfigError with a message
// (the contract of core::YamlSection: the error names the file and the key); any other exception
// escaping is a finding. For the configurations that are written back as YAML (recorded with the
// data), what is accepted must be a fixed point: to_yaml, parse, to_yaml gives the same text.
#include <optional>
#include <string>
#include <typeinfo>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/models/compress_recipe.hpp"
#include "larsel/models/train_recipe.hpp"
#include "larsel/pipeline/config.hpp"
#include "larsel/preprocess/config.hpp"

namespace larsel::fuzz {
namespace {

constexpr const char* kSource = "fuzz.yaml";

/// parse(text), or nothing when it is rejected cleanly (a core::ConfigError with a message).
template <typename Parse>
auto parse_or_reject(Parse parse, const std::string& text, std::string_view what) -> std::optional<decltype(parse(text))> {
  try {
    return parse(text);
  } catch (const core::ConfigError& e) {
    require_message(e, what);
    return std::nullopt;
  } catch (const std::exception& e) {
    finding(std::string(what) + ": a " + typeid(e).name() + " instead of a core::ConfigError: " + e.what());
  }
}

/// Accepted text must give YAML that the loader reads back to the same configuration.
template <typename Parse, typename ToYaml>
void check_yaml_config(Parse parse, ToYaml to_yaml, const std::string& text, std::string_view what) {
  const auto config = parse_or_reject(parse, text, what);
  if (!config) return;
  const std::string written = to_yaml(*config);
  std::optional<decltype(parse(text))> reread;
  try {
    reread = parse(written);
  } catch (const std::exception& e) {
    finding(std::string(what) + ": its own to_yaml output is rejected: " + e.what() + "\n" + written);
  }
  require(to_yaml(*reread) == written, std::string(what) + ": to_yaml, parse, to_yaml changed the configuration\n" + written);
}

}  // namespace

void fuzz_yaml_config(const std::uint8_t* data, std::size_t size) {
  FuzzReader in(data, size);
  const std::uint8_t loader = in.byte() % 5;
  const auto rest = in.rest();
  const std::string text(reinterpret_cast<const char*>(rest.data()), rest.size());
  switch (loader) {
    case 0:
      check_yaml_config([](const std::string& t) { return pipeline::parse_pipeline_config(t, kSource); },
                        [](const pipeline::PipelineConfig& c) { return pipeline::to_yaml(c); }, text, "parse_pipeline_config");
      break;
    case 1:
      check_yaml_config([](const std::string& t) { return preprocess::parse_preprocess_config(t, kSource); },
                        [](const preprocess::PreprocessConfig& c) { return preprocess::to_yaml(c); }, text,
                        "parse_preprocess_config");
      break;
    case 2:
      check_yaml_config([](const std::string& t) { return daq::sim::parse_sim_config(t, kSource); },
                        [](const daq::sim::SimConfig& c) { return daq::sim::to_yaml(c); }, text, "parse_sim_config");
      break;
    case 3:
      if (const auto recipe = parse_or_reject([](const std::string& t) { return models::parse_train_recipe(t, kSource); }, text,
                                              "parse_train_recipe")) {
        (void)models::to_json(*recipe).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      break;
    default:
      if (const auto recipe = parse_or_reject([](const std::string& t) { return models::parse_compress_recipe(t, kSource); },
                                              text, "parse_compress_recipe")) {
        (void)models::to_json(*recipe).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
  }
}

}  // namespace larsel::fuzz

LARSEL_FUZZ_TARGET(larsel::fuzz::fuzz_yaml_config)
