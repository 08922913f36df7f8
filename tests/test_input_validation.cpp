// Input validation (issue 19): option values, WIBEth files and YAML configs that are wrong are
// refused in one line that says what and where; nothing is wrapped, truncated or taken twice.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "larsel/core/errors.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/daq/wibeth.hpp"
#include "larsel/core/yaml_section.hpp"
#include "larsel/models/compress_recipe.hpp"
#include "larsel/models/train_recipe.hpp"
#include "larsel/pipeline/config.hpp"
#include "support.hpp"

using larsel::test::run_larsel;
using larsel::test::TempDir;
namespace wb = larsel::daq::wibeth;

namespace {

std::size_t line_count(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

bool is_one_usage_error_line(const std::string& err) {
  return err.rfind("larsel: usage error: ", 0) == 0 && line_count(err) == 1;
}

/// One 7200-byte frame with `header` and a ramp of ADCs.
std::vector<std::byte> encoded_frame(const wb::Header& header) {
  std::vector<std::byte> frame(wb::kFrameBytes);
  const wb::MutableFrameView view(frame.data(), wb::kFrameBytes);
  std::vector<std::uint16_t> adc(wb::kAdcCount);
  for (std::size_t i = 0; i < adc.size(); ++i) adc[i] = static_cast<std::uint16_t>(900 + i % 64);
  wb::pack_adcs(wb::AdcView(adc.data(), wb::kAdcCount), view);
  wb::encode_header(header, view);
  return frame;
}

void write_frames(const std::filesystem::path& path, const std::vector<wb::Header>& headers) {
  std::ofstream out(path, std::ios::binary);
  for (const wb::Header& h : headers) {
    const auto frame = encoded_frame(h);
    out.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
  }
}

/// Two valid HD TPC frames of one stream, in time order.
std::vector<wb::Header> valid_headers() {
  wb::Header h;
  h.crate_id = 1, h.stream_id = 0x41, h.seq_id = 7, h.timestamp = 1'000'000 * wb::kTicksPerFrame;
  wb::Header next = h;
  next.seq_id = 8, next.timestamp += wb::kTicksPerFrame;
  return {h, next};
}

std::string yaml_error(const std::function<void()>& parse) {
  try {
    parse();
  } catch (const larsel::core::ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("Negative, fractional and too large counts are usage errors in one line, for every command", "[cli][validation]") {
  TempDir dir;
  std::ofstream(dir / "empty.h5") << "";
  // fmt::format: GCC 12 warns (-Wrestrict, a false positive) on "'" + path + "'".
  const std::string data = fmt::format("'{}'", (dir / "empty.h5").string()), out = fmt::format("'{}'", (dir / "never.h5").string());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"simulate --signal -1 --background 5 --out " + out, "--signal"},
      {"simulate --background 1000000001 --out " + out, "--background"},
      {"simulate --signal 2 --seed -1 --out " + out, "--seed"},
      {"eval --model m.h5 --data " + data + " --background-frames -1", "--background-frames"},
      {"eval --model m.h5 --data " + data + " --background-frames 100000000", "--background-frames"},
      {"emulate --frames -1", "--frames"},
      {"emulate --frames 1 --seconds 1e300", "--seconds"},
      {"receive --frames -5", "--frames"},
      {"receive --socket-buffer -1 --seconds 1", "--socket-buffer"},
      {"receive --timeout-us -1 --seconds 1", "--timeout-us"},
      {"display " + data + " --out x.png --index -1", "--index"},
      {"preprocess " + data + " --warmup -1", "--warmup"},
      {"export-hls --model " + data + " --out d --test-frames -3", "--test-frames"},
      {"score --model " + data + " --data " + data + " --frames -1", "--frames"},
      {"bench ingest --socket-buffer -1", "--socket-buffer"},
      {"bench simulate --background-frames 1.5", "--background-frames"},
      {"wibeth decode " + data + " --det-id 64", "--det-id"},
      {"record --connect tcp://127.0.0.1:1 --out " + out + " --frames -1", "--frames"},
      {"record --connect tcp://127.0.0.1:1 --out " + out + " --run -1", "--run"},
      {"listen tcp://127.0.0.1:1 --count -1", "--count"},
      {"listen tcp://127.0.0.1:1 --delay-ms -1", "--delay-ms"},
  };
  for (const auto& [args, option] : cases) {
    INFO(args);
    const auto r = run_larsel(args);
    CHECK(r.exit_code == 2);
    CHECK(is_one_usage_error_line(r.err));
    CHECK_THAT(r.err, Catch::Contains(option));
  }
  CHECK_FALSE(std::filesystem::exists(dir / "never.h5"));
  CHECK_THAT(run_larsel("simulate --help").out, Catch::Contains("1000000000"));  // the bound is in the help
}

TEST_CASE("Parse errors carry the documented 'larsel: usage error:' prefix, and --help is unchanged", "[cli][validation]") {
  for (const char* args : {"frobnicate", "", "simulate --no-such-option", "emulate --drop two", "wibeth decode"}) {
    INFO(args);
    const auto r = run_larsel(args);
    CHECK(r.exit_code == 2);
    CHECK(is_one_usage_error_line(r.err));
  }
  const auto help = run_larsel("simulate --help");
  CHECK(help.exit_code == 0);
  CHECK(help.err.empty());
  CHECK_THAT(help.out, Catch::StartsWith("Write a labelled data set") && Catch::Contains("--signal"));
}

TEST_CASE("wibeth decode validates headers as the receiver does: invalid frames skipped and counted per reason",
          "[cli][wibeth][validation]") {
  TempDir dir;
  std::vector<wb::Header> headers = valid_headers();
  wb::Header bad = headers.front();
  bad.daq_version = 1;
  headers.push_back(bad);
  bad = headers.front(), bad.det_id = 10;
  headers.push_back(bad);
  bad = headers.front(), bad.stream_id = 0x80;
  headers.push_back(bad);
  bad = headers.front(), bad.timestamp = (std::uint64_t{1} << 62) + wb::kTicksPerFrame;
  headers.push_back(bad);
  headers.push_back(bad);
  write_frames(dir / "mixed.bin", headers);

  const auto json = run_larsel("wibeth decode --json '" + (dir / "mixed.bin").string() + "'");
  INFO(json.err);
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["frames"] == 2);
  CHECK(j["frames_skipped"] == headers.size() - 2);
  CHECK(j["frames_skipped_by_reason"] == nlohmann::json{{"daq_version", 1}, {"det_id", 1}, {"stream_id", 1}, {"timestamp", 2}});
  CHECK(j["frame_headers"][1]["seq_id"] == 8);
  const auto text = run_larsel("wibeth decode '" + (dir / "mixed.bin").string() + "'");
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("5 frames skipped") && Catch::Contains("2 timestamp") && Catch::Contains("2 decoded"));
  // The same frames are valid for another detector id only if they carry it.
  CHECK(nlohmann::json::parse(run_larsel("wibeth decode --json --det-id 10 '" + (dir / "mixed.bin").string() + "'").out)["frames"] == 1);
}

TEST_CASE("wibeth decode of random bytes is one error line, not frames", "[cli][wibeth][validation]") {
  TempDir dir;
  std::mt19937_64 rng(19);
  std::vector<std::uint64_t> words(3 * wb::kFrameBytes / 8);
  for (auto& w : words) w = rng();
  std::ofstream(dir / "random.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(words.data()), static_cast<std::streamsize>(words.size() * 8));
  const auto r = run_larsel("wibeth decode '" + (dir / "random.bin").string() + "'");
  CHECK(r.exit_code == 1);
  CHECK(line_count(r.err) == 1);
  CHECK_THAT(r.err, Catch::StartsWith("larsel: error: ") && Catch::Contains("random.bin") && Catch::Contains("no valid WIBEth frame"));
}

TEST_CASE("wibeth decode --out never leaves its temporary file behind", "[cli][wibeth][validation]") {
  TempDir dir;
  write_frames(dir / "frames.bin", valid_headers());
  std::filesystem::create_directories(dir / "existing");
  const auto r = run_larsel("wibeth decode '" + (dir / "frames.bin").string() + "' --out '" + (dir / "existing").string() + "'");
  CHECK(r.exit_code == 1);
  CHECK(line_count(r.err) == 1);
  CHECK_THAT(r.err, Catch::Contains("existing: cannot write HDF5"));
  CHECK_FALSE(std::filesystem::exists(dir / "existing.tmp"));
  CHECK(std::filesystem::is_directory(dir / "existing"));
  const auto fine = run_larsel("wibeth decode '" + (dir / "frames.bin").string() + "' --out '" + (dir / "ok.h5").string() + "'");
  CHECK(fine.exit_code == 0);
  CHECK(std::filesystem::is_regular_file(dir / "ok.h5"));
  CHECK_FALSE(std::filesystem::exists(dir / "ok.h5.tmp"));
}

TEST_CASE("Every YAML config refuses a duplicate key at any depth, naming the file, the key and its line", "[config][validation]") {
  using larsel::pipeline::parse_pipeline_config;
  CHECK_THAT(yaml_error([] { parse_pipeline_config("run:\n  seconds: 1\n  seconds: 2\n", "run.yaml"); }),
             Catch::Equals("run.yaml: duplicate key 'seconds' at line 3"));
  CHECK_THAT(yaml_error([] { parse_pipeline_config("zmq: {}\nrun: {}\nzmq:\n  publish: ''\n", "top.yaml"); }),
             Catch::Equals("top.yaml: duplicate key 'zmq' at line 3"));
  CHECK_THAT(yaml_error([] { parse_pipeline_config("input:\n  udp:\n    listen: a\n    emulate: true\n    listen: b\n", "deep.yaml"); }),
             Catch::Equals("deep.yaml: duplicate key 'listen' at line 5"));
  CHECK_THAT(yaml_error([] { larsel::daq::sim::parse_sim_config("noise:\n  rms_spread: 0.1\nnoise: {}\n", "sim.yaml"); }),
             Catch::Equals("sim.yaml: duplicate key 'noise' at line 3"));
  // Inside a list, in a flow mapping: an architecture layer of a training or compression recipe.
  const std::string recipe = "architecture:\n  layers:\n    - relu\n    - {dense: {units: 4, units: 1}}\n";
  CHECK_THAT(yaml_error([&] { larsel::models::parse_train_recipe(recipe, "train.yaml"); }),
             Catch::Equals("train.yaml: duplicate key 'units' at line 4"));
  CHECK_THAT(yaml_error([&] { larsel::models::parse_compress_recipe(recipe, "compress.yaml"); }),
             Catch::Equals("compress.yaml: duplicate key 'units' at line 4"));
  // The demo's config, through the executable.
  TempDir dir;
  std::ofstream(dir / "demo.yaml") << "emulator:\n  seconds: 1\n  seconds: 100\n";
  const auto demo = run_larsel("demo --config '" + (dir / "demo.yaml").string() + "'");
  CHECK(demo.exit_code == 1);
  CHECK(demo.err == fmt::format("larsel: error: {}: duplicate key 'seconds' at line 3\n", (dir / "demo.yaml").string()));
}

TEST_CASE("Integer keys of YAML configs refuse fractions and negatives, naming the key", "[config][validation]") {
  using larsel::pipeline::parse_pipeline_config;
  CHECK_THAT(yaml_error([] { parse_pipeline_config("run:\n  frames: 1.5\n", "c.yaml"); }),
             Catch::Equals("c.yaml: run.frames: 1.5 is not a whole number"));
  CHECK_THAT(yaml_error([] { parse_pipeline_config("run:\n  frames: -1\n", "c.yaml"); }),
             Catch::StartsWith("c.yaml: run.frames: -1 is outside [0, "));
  CHECK_THAT(yaml_error([] { parse_pipeline_config("run:\n  number: 2.5\n", "c.yaml"); }), Catch::Contains("run.number: 2.5"));
  CHECK_THAT(yaml_error([] { parse_pipeline_config("input:\n  seed: 0.5\n", "c.yaml"); }), Catch::Contains("input.seed: 0.5"));
  CHECK_THAT(yaml_error([] { parse_pipeline_config("input:\n  udp: {socket_buffer_bytes: 100000.5}\n", "c.yaml"); }),
             Catch::Contains("input.udp.socket_buffer_bytes: 100000.5 is not a whole number"));
  CHECK_THAT(yaml_error([] { parse_pipeline_config("input:\n  udp: {incomplete_timeout_us: 150.5}\n", "c.yaml"); }),
             Catch::Contains("incomplete_timeout_us: 150.5 is not a whole number"));
  CHECK_THAT(yaml_error([] { larsel::models::parse_train_recipe("data:\n  split_seed: 3.25\n", "t.yaml"); }),
             Catch::Contains("data.split_seed: 3.25 is not a whole number"));
  CHECK_THAT(yaml_error([] { larsel::models::parse_train_recipe("training:\n  seed: -2\n", "t.yaml"); }),
             Catch::Contains("training.seed: -2 is outside"));
  // Whole numbers still read, exactly, in either spelling.
  CHECK(parse_pipeline_config("run:\n  frames: 1234567890123\n", "c.yaml").frames == 1234567890123ULL);
  CHECK(parse_pipeline_config("run:\n  frames: 1e3\n", "c.yaml").frames == 1000);
  CHECK(larsel::models::parse_train_recipe("data:\n  warmup_frames: 7\n", "t.yaml").data.warmup_frames == 7);
}

// Found by fuzz_yaml_config (CI, a compression recipe): yaml-cpp's "bad conversion" escaped where a list or a
// mapping stood in place of a key or a file name.
TEST_CASE("A list or a mapping where a YAML config wants a name is a ConfigError naming the place and its line",
          "[config][validation]") {
  using larsel::models::parse_compress_recipe;
  CHECK_THAT(yaml_error([] { larsel::pipeline::parse_pipeline_config("run:\n  [seconds]: 1\n", "c.yaml"); }),
             Catch::Equals("c.yaml: run: line 2: expected a name or a value, not a list or a mapping"));
  CHECK_THAT(yaml_error([] { parse_compress_recipe("quantization:\n  weight:\n    {width: 8}: 1\n", "q.yaml"); }),
             Catch::Equals("q.yaml: quantization.weight: line 3: expected a name or a value, not a list or a mapping"));
  CHECK_THAT(yaml_error([] { parse_compress_recipe("quantization:\n  layers:\n    [conv1]: {}\n", "q.yaml"); }),
             Catch::Equals("q.yaml: quantization.layers: line 3: expected a name or a value, not a list or a mapping"));
  CHECK_THAT(yaml_error([] { parse_compress_recipe("pruning:\n  keep:\n    [conv1]: 4\n", "p.yaml"); }),
             Catch::Equals("p.yaml: pruning.keep: line 3: expected a name or a value, not a list or a mapping"));
  CHECK_THAT(yaml_error([] { larsel::models::parse_train_recipe("data:\n  files:\n    - {a: b}\n", "t.yaml"); }),
             Catch::Equals("t.yaml: data.files: line 3: expected a name or a value, not a list or a mapping"));
  CHECK_THAT(yaml_error([] { larsel::models::parse_train_recipe("data:\n  cache_dir: [x]\n", "t.yaml"); }),
             Catch::Equals("t.yaml: data.cache_dir: line 2: expected a name or a value, not a list or a mapping"));
  CHECK_THAT(yaml_error([] { larsel::models::parse_train_recipe("architecture:\n  {a: 1}: 2\n", "t.yaml"); }),
             Catch::Equals("t.yaml: line 2: expected a name or a value, not a list or a mapping"));
}

// The parsers' last line of defence (their function-try-blocks): a yaml-cpp exception no reader anticipated.
TEST_CASE("A yaml-cpp exception escaping a reader becomes a ConfigError naming the file and the line", "[config][validation]") {
  std::string message = "(no exception)";
  try {
    (void)YAML::Load("run:\n  seconds: [1, 2]\n")["run"]["seconds"].as<double>();
  } catch (const YAML::Exception& e) {
    message = larsel::core::config_error_from(e, "c.yaml").what();
  }
  CHECK(message == "c.yaml: line 2: bad conversion");
}
