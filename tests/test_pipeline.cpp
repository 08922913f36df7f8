// End-to-end tests of `larsel run`: real processes, real ZeroMQ sockets on 127.0.0.1, real HDF5 files.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include <H5Cpp.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "larsel/daq/frame.hpp"
#include "larsel/daq/sim/parallel_simulation.hpp"
#include "larsel/pipeline/config.hpp"
#include "support.hpp"

using larsel::test::BackgroundLarsel;
using larsel::test::TempDir;
using larsel::test::wait_for_log;
using nlohmann::json;

namespace {

constexpr std::size_t kPixels = larsel::daq::Frame::kPixels;

/// A 2 s in-process run recording in `dir`/data (support.hpp).
std::string run_config(const TempDir& dir, int port, const std::string& extra) {
  return larsel::test::emulator_run_config(dir / "data", port, 2, "", extra);
}

std::filesystem::path write_text(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name) << text;
  return dir / name;
}

json summary_of(const larsel::test::ProcessResult& r) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

struct RecordedFrames {
  std::vector<std::uint16_t> pixels;
  std::vector<std::uint64_t> sequence;
  std::size_t count = 0;
};

RecordedFrames read_recording(const std::filesystem::path& file) {
  H5::H5File h5(file.string(), H5F_ACC_RDONLY);
  RecordedFrames r;
  H5::DataSet frames = h5.openDataSet("frames");
  hsize_t dims[3] = {0, 0, 0};
  frames.getSpace().getSimpleExtentDims(dims);
  r.count = dims[0];
  r.pixels.resize(r.count * kPixels);
  if (r.count > 0) frames.read(r.pixels.data(), H5::PredType::NATIVE_UINT16);
  H5::CompType sequence_only(sizeof(std::uint64_t));
  sequence_only.insertMember("sequence", 0, H5::PredType::NATIVE_UINT64);
  r.sequence.resize(r.count);
  if (r.count > 0) h5.openDataSet("metadata").read(r.sequence.data(), sequence_only);
  return r;
}

/// The emulator's pool of face 0 for `seed`: frames depend only on (seed, index) (docs/simulation.md).
std::vector<std::uint16_t> emulator_pool(std::uint64_t seed, std::uint64_t signal, std::uint64_t background) {
  std::vector<std::uint16_t> pool((signal + background) * kPixels);
  larsel::daq::sim::simulate_frames({}, seed * 1000, signal, background, 2, 16, nullptr, [&](const larsel::daq::sim::FrameBlock& b) {
    std::copy(b.pixels.begin(), b.pixels.end(), pool.begin() + static_cast<std::ptrdiff_t>(b.first * kPixels));
  });
  return pool;
}

}  // namespace

TEST_CASE("larsel run decides every accepted frame and records the selected ones byte for byte, in order", "[pipeline]") {
  TempDir dir;
  // Two inference workers: the selector must still see the frames in their original order.
  const auto config = write_text(dir, "run.yaml", run_config(dir, larsel::test::free_tcp_port(), "model:\n  workers: 2\n"));
  const json s = summary_of(larsel::test::run_larsel(fmt::format("run --config '{}' --json", config.string())));
  const auto& frames = s["frames"];
  CHECK(frames["offered"].get<std::uint64_t>() >= 6000);  // 2 s at 0.1 x 30.5 kHz
  CHECK(frames["accepted"] == frames["decided"]);
  CHECK(frames["offered"].get<std::uint64_t>() ==
        frames["accepted"].get<std::uint64_t>() + s["drops"]["source_no_free_slot"].get<std::uint64_t>() + s["drops"]["source_queue_full"].get<std::uint64_t>());
  const std::uint64_t selected = frames["selected"].get<std::uint64_t>();
  REQUIRE(selected > 0);
  CHECK(s["truth"]["signal_frames"].get<std::uint64_t>() > 0);
  CHECK(s["truth"]["efficiency"].get<double>() > 0.5);
  CHECK(s["queues"]["recorder_in"]["max"].get<std::uint64_t>() >= 1);  // every selected frame passed through it
  REQUIRE(s["files"].size() == 1);
  const std::filesystem::path file = s["files"][0].get<std::string>();
  CHECK(file.extension() == ".h5");
  const RecordedFrames recorded = read_recording(file);
  REQUIRE(recorded.count == selected);
  CHECK(std::is_sorted(recorded.sequence.begin(), recorded.sequence.end()));
  CHECK(std::adjacent_find(recorded.sequence.begin(), recorded.sequence.end()) == recorded.sequence.end());
  CHECK(s["model"]["workers"] == 2);
  // The run names its model by the SHA-256 of the file's bytes, as coreutils' sha256sum computes it.
  const std::string model_file = s["model"]["file"].get<std::string>();
  std::string sha256sum(64, '\0');
  FILE* pipe = ::popen(("sha256sum '" + model_file + "'").c_str(), "r");
  REQUIRE(pipe != nullptr);
  sha256sum.resize(std::fread(sha256sum.data(), 1, sha256sum.size(), pipe));
  ::pclose(pipe);
  CHECK(s["model"]["sha256"] == sha256sum);
  CHECK(s["frames"]["inferred_per_worker"][0].get<std::uint64_t>() > 0);
  CHECK(s["frames"]["inferred_per_worker"][1].get<std::uint64_t>() > 0);
  // The CPU the run used per frame, by thread, next to what its stages took.
  const auto& cpu = s["cpu"];
  CHECK(cpu["process_us_per_frame"].get<double>() > 0);
  for (const char* thread : {"larsel-source", "larsel-prep", "larsel-infer0", "larsel-infer1", "larsel-select"}) {
    INFO(thread);
    CHECK(cpu["threads_us_per_frame"][thread].get<double>() > 0);
  }
  CHECK(cpu["stages_us_per_frame"].get<double>() > 0);
  CHECK(cpu["pipeline_overhead_us_per_frame"].get<double>() ==
        Approx(cpu["process_us_per_frame"].get<double>() - cpu["stages_us_per_frame"].get<double>()));
  // Each recorded frame is exactly one of the emulator's pool frames: a background frame is
  // the pool entry its sequence number names, a signal frame one of the signal entries.
  const std::uint64_t signal_pool = 16, background_pool = 48;
  const auto pool = emulator_pool(3, signal_pool, background_pool);
  const auto same = [&](std::size_t r, std::size_t entry) {
    return std::equal(recorded.pixels.begin() + static_cast<std::ptrdiff_t>(r * kPixels), recorded.pixels.begin() + static_cast<std::ptrdiff_t>((r + 1) * kPixels),
                      pool.begin() + static_cast<std::ptrdiff_t>(entry * kPixels));
  };
  for (std::size_t r = 0; r < recorded.count; ++r) {
    bool found = same(r, signal_pool + recorded.sequence[r] % background_pool);
    for (std::size_t e = 0; e < signal_pool && !found; ++e) found = same(r, e);
    INFO("recorded frame " << r << " (sequence " << recorded.sequence[r] << ")");
    CHECK(found);
  }
}

TEST_CASE("larsel run through UDP: emulator -> receiver -> pipeline, frames in == frames decided", "[pipeline]") {
  TempDir dir;
  const auto config = write_text(dir, "run.yaml", run_config(dir, larsel::test::free_tcp_port(), "") + "\n");
  std::string text = larsel::test::slurp(config);
  text.replace(text.find("kind: emulator"), 14, "kind: udp");
  std::ofstream(config) << text;
  const json s = summary_of(larsel::test::run_larsel(fmt::format("run --config '{}' --json --seconds 1.5", config.string())));
  const auto& receiver = s["source"]["receiver"];
  const std::uint64_t built = receiver["frames_complete"].get<std::uint64_t>() + receiver["frames_incomplete"].get<std::uint64_t>();
  CHECK(built >= 3000);
  CHECK(s["frames"]["offered"].get<std::uint64_t>() == built);
  CHECK(s["frames"]["accepted"] == s["frames"]["decided"]);
  CHECK(s["source"]["emulator"]["periods_sent"].get<std::uint64_t>() >= built);
}

namespace {

json json_of(const larsel::test::ProcessResult& r, const char* who) {
  INFO(who << " exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

std::vector<std::string> listen_args(int port, const std::vector<std::string>& extra) {
  std::vector<std::string> args{"listen", fmt::format("tcp://127.0.0.1:{}", port), "--json", "--quiet", "--idle-seconds", "3"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

TEST_CASE("three subscribers, one of them slow: the pipeline keeps its rate and the slow one's drops are counted", "[pipeline]") {
  TempDir dir;
  const int port = larsel::test::free_tcp_port();
  // Prescale 10 publishes ~300 frames/s (18 MB/s): more than the TCP buffers can hide from a consumer at 30 ms per message.
  const auto config = write_text(dir, "run.yaml", run_config(dir, port, R"(selection:
  prescale: 10
)") + "");
  std::string text = larsel::test::slurp(config);
  text.replace(text.find("zmq:\n"), 5, "zmq:\n  wait_for_subscribers: 3\n  publish_hwm: 50\n  decision_batch: 64\n");
  text.replace(text.find("seconds: 2"), 10, "seconds: 3");
  std::ofstream(config) << text;
  BackgroundLarsel fast1(listen_args(port, {})), fast2(listen_args(port, {}));
  BackgroundLarsel slow(listen_args(port, {"--delay-ms", "30", "--rcvhwm", "5"}));
  const json s = summary_of(larsel::test::run_larsel(fmt::format("run --config '{}' --json --no-hdf5", config.string())));
  const auto offered = s["frames"]["offered"].get<std::uint64_t>();
  const std::uint64_t drops = s["drops"]["source_no_free_slot"].get<std::uint64_t>() + s["drops"]["source_queue_full"].get<std::uint64_t>();
  CHECK(offered >= 8500);  // 3 s at 0.1 x 30,517.6 frames/s
  CHECK(drops <= offered / 100);
  CHECK(s["frames"]["accepted"] == s["frames"]["decided"]);
  const std::uint64_t published = s["outputs"]["selected_published"].get<std::uint64_t>();
  CHECK(published == s["frames"]["selected"].get<std::uint64_t>() + s["frames"]["prescaled"].get<std::uint64_t>());
  CHECK(published > 500);
  for (auto* fast : {&fast1, &fast2}) {
    const json l = json_of(fast->wait(std::chrono::seconds(30)), "fast listener");
    CHECK(l["topics"]["frame.selected"]["received"].get<std::uint64_t>() == published);
    CHECK(l["topics"]["frame.selected"]["missed"] == 0);
    CHECK(l["decisions"]["records"] == s["frames"]["decided"]);
  }
  const json l = json_of(slow.wait(std::chrono::seconds(60)), "slow listener");
  const auto& selected = l["topics"]["frame.selected"];
  CHECK(selected["missed"].get<std::uint64_t>() > 0);
  CHECK(selected["received"].get<std::uint64_t>() + selected["missed"].get<std::uint64_t>() <= published);
}

TEST_CASE("SIGTERM mid-run: every selected frame is in a closed file, in-process and through larsel record", "[pipeline]") {
  TempDir dir;
  const int port = larsel::test::free_tcp_port();
  std::string text = run_config(dir, port, "");
  text.replace(text.find("zmq:\n"), 5, "zmq:\n  wait_for_subscribers: 2\n");  // the recorder: frame.selected and run.info
  text.replace(text.find("seconds: 2"), 10, "seconds: 0");                     // until stopped
  const auto config = write_text(dir, "run.yaml", text);
  BackgroundLarsel recorder({"record", "--connect", fmt::format("tcp://127.0.0.1:{}", port), "--out", (dir / "recorded").string(), "--json"});
  BackgroundLarsel run({"run", "--config", config.string(), "--json"});
  REQUIRE(wait_for_log(run, "taking data", std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  run.signal(SIGTERM);
  const json s = json_of(run.wait(std::chrono::seconds(30)), "larsel run");
  recorder.signal(SIGTERM);
  const json r = json_of(recorder.wait(std::chrono::seconds(30)), "larsel record");
  const std::uint64_t selected = s["frames"]["selected"].get<std::uint64_t>();
  REQUIRE(selected > 0);
  CHECK(s["frames"]["accepted"] == s["frames"]["decided"]);
  REQUIRE(s["files"].size() == 1);
  const RecordedFrames in_process = read_recording(s["files"][0].get<std::string>());
  CHECK(in_process.count == selected);
  CHECK(r["frames_recorded"].get<std::uint64_t>() == selected);
  CHECK(r["frames_missed"] == 0);
  REQUIRE(r["files"].size() == 1);
  const RecordedFrames through_zmq = read_recording(r["files"][0].get<std::string>());
  CHECK(through_zmq.sequence == in_process.sequence);
  CHECK(through_zmq.pixels == in_process.pixels);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    INFO(entry.path());
    CHECK(entry.path().extension() != ".writing");
  }
}

TEST_CASE("the PUSH socket deals selected frames to a PULL consumer and counts what it could not deliver", "[pipeline]") {
  TempDir dir;
  const int push_port = larsel::test::free_tcp_port();
  std::string text = run_config(dir, larsel::test::free_tcp_port(), "");
  text.replace(text.find("zmq:\n"), 5, fmt::format("zmq:\n  push: tcp://127.0.0.1:{}\n", push_port));
  const auto config = write_text(dir, "run.yaml", text);
  zmq::context_t context;
  zmq::socket_t pull(context, zmq::socket_type::pull);
  pull.connect(fmt::format("tcp://127.0.0.1:{}", push_port));  // connects once the run binds
  BackgroundLarsel run({"run", "--config", config.string(), "--json", "--no-hdf5"});
  std::uint64_t received = 0, bad = 0;
  // Receive until the run has printed its summary (everything is sent by then) and 0.5 s of quiet.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto last_message = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<zmq::message_t> parts;
    if (zmq::recv_multipart(pull, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
      const bool good = parts.size() == 3 && parts[0].to_string() == "frame.selected" && parts[2].size() == kPixels * 2;
      received += good ? 1 : 0;
      bad += good ? 0 : 1;
      last_message = std::chrono::steady_clock::now();
      continue;
    }
    if (!run.out().empty() && std::chrono::steady_clock::now() - last_message > std::chrono::milliseconds(500)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const larsel::test::ProcessResult result = run.wait(std::chrono::seconds(30));
  const json s = summary_of(result);
  const std::uint64_t published = s["frames"]["selected"].get<std::uint64_t>() + s["frames"]["prescaled"].get<std::uint64_t>();
  REQUIRE(published > 0);
  CHECK(bad == 0);
  CHECK(s["outputs"]["push_sent"].get<std::uint64_t>() + s["drops"]["push_hwm"].get<std::uint64_t>() == published);
  CHECK(received == s["outputs"]["push_sent"].get<std::uint64_t>());
}

TEST_CASE("A run that cannot keep up says so at the start, as it loses frames and first in its summary, and fails on loss", "[pipeline]") {
  TempDir dir;
  const int port = larsel::test::free_tcp_port();
  // Keeping up: 0.1 x a face.
  const auto calm = write_text(dir, "calm.yaml", run_config(dir, port, ""));
  const auto kept = larsel::test::run_larsel(fmt::format("run --config '{}' --no-hdf5 --fail-on-loss", calm.string()));
  INFO(kept.err);
  CHECK(kept.exit_code == 0);
  CHECK_THAT(kept.out, Catch::StartsWith("larsel run 1: KEPT UP: every one of "));
  CHECK_THAT(kept.err, Catch::Contains("[info] capacity: preprocess ") && !Catch::Contains("[warning]"));
  // 40 x a face on one inference thread, with a small input queue: frames are lost from the first second on.
  const auto flood = write_text(dir, "flood.yaml", run_config(dir, port, "queues:\n  input_capacity: 64\n") + "\n");
  const auto lost = larsel::test::run_larsel(fmt::format("run --config '{}' --no-hdf5 --speed 40 --fail-on-loss", flood.string()));
  INFO(lost.err);
  CHECK(lost.exit_code == 1);
  CHECK_THAT(lost.out, Catch::StartsWith("larsel run 1: DID NOT KEEP UP: lost "));
  CHECK_THAT(lost.err, Catch::Contains("[warning] this machine cannot keep up with this configuration"));
  CHECK_THAT(lost.err, Catch::Contains("[warning] lost ") && Catch::Contains("the pipeline is not keeping up with its input"));
  CHECK_THAT(lost.err, Catch::Contains("larsel: error: run 1 lost ") && Catch::EndsWith("frames (--fail-on-loss / run.fail_on_loss)\n"));
  // The same from the configuration; without it, the lossy run still exits 0 (its summary said so).
  std::string keyed_text = run_config(dir, port, "queues:\n  input_capacity: 64\n");
  keyed_text.replace(keyed_text.find("run:\n"), 5, "run:\n  fail_on_loss: true\n");
  const auto keyed = write_text(dir, "keyed.yaml", keyed_text);
  CHECK(larsel::test::run_larsel(fmt::format("run --config '{}' --no-hdf5 --speed 40 --seconds 1", keyed.string())).exit_code == 1);
  CHECK(larsel::test::run_larsel(fmt::format("run --config '{}' --no-hdf5 --speed 40 --seconds 1", flood.string())).exit_code == 0);
}
