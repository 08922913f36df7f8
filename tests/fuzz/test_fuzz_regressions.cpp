// The fuzz harnesses built with the main build's compiler (no libFuzzer, no sanitizers): every
// committed seed (tests/fuzz/corpus/<target>/) and every input a fuzzer crashed on
// (tests/fuzz/regressions/<target>/) goes through the harness's body, whose checks abort on a
// finding. The crash inputs also have their own test cases below, which say what was wrong.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/models/compress_recipe.hpp"

namespace {

namespace fs = std::filesystem;
using Harness = void (*)(const std::uint8_t*, std::size_t);

std::vector<std::uint8_t> read_input(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Runs every file of tests/fuzz/<kind>/<target>/ through the harness; returns how many ran.
std::size_t replay(const char* kind, const char* target, Harness harness) {
  const fs::path dir = fs::path(LARSEL_FUZZ_DIR) / kind / target;
  if (!fs::is_directory(dir)) return 0;
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    INFO(entry.path().string());
    const std::vector<std::uint8_t> input = read_input(entry.path());
    harness(input.data(), input.size());
    ++count;
  }
  return count;
}

struct Target {
  const char* name;
  Harness harness;
};
constexpr Target kTargets[] = {{"wibeth", larsel::fuzz::fuzz_wibeth},
                               {"frame_builder", larsel::fuzz::fuzz_frame_builder},
                               {"wire_format", larsel::fuzz::fuzz_wire_format},
                               {"yaml_config", larsel::fuzz::fuzz_yaml_config},
                               {"model_file", larsel::fuzz::fuzz_model_file}};

}  // namespace

TEST_CASE("fuzz regressions: every harness passes its committed seed corpus", "[fuzz]") {
  for (const Target& target : kTargets) {
    INFO(target.name);
    CHECK(replay("corpus", target.name, target.harness) > 0);
  }
}

TEST_CASE("fuzz regressions: every harness passes the inputs fuzzing once crashed it", "[fuzz]") {
  for (const Target& target : kTargets) replay("regressions", target.name, target.harness);
}

// A finding of fuzz_yaml_config, fixed: a compression recipe whose YAML holds a string that is not
// UTF-8 was rejected with nlohmann::json::type_error 316 (thrown by json::dump while the error
// message was written) instead of a larsel::core::ConfigError naming the file and the key.
TEST_CASE("fuzz findings: a compression recipe with invalid UTF-8 is rejected with a ConfigError", "[fuzz]") {
  const std::vector<std::uint8_t> input = read_input(fs::path(LARSEL_FUZZ_DIR) / "findings/yaml_config/compress-recipe-invalid-utf8");
  REQUIRE(input.size() > 1);
  const std::string yaml(input.begin() + 1, input.end());  // byte 0 picks the loader (4: compression recipe)
  CHECK_THROWS_AS(larsel::models::parse_compress_recipe(yaml, "fuzz.yaml"), larsel::core::ConfigError);
}
