// HDF5 recording of selected frames: the SelectedFrameWriter read back through the HDF5 API
// (pixels, metadata, attributes, naming, rotation, errors) and `larsel record` end to end
// against an in-test XPUB publisher.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <H5Cpp.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "larsel/pipeline/selected_frame_writer.hpp"
#include "larsel/pipeline/wire_format.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
namespace wire = larsel::pipeline::wire;
using larsel::pipeline::RecordingConfig;
using larsel::pipeline::SelectedFrameWriter;
using namespace std::chrono_literals;

constexpr std::size_t kPixels = wire::kWires * wire::kTicks;
const std::regex kFileName(R"(larsel_run(\d{6})_(\d{4})_\d{8}T\d{6}Z\.h5)");

/// Pixels that differ from frame to frame and from pixel to pixel, and do not compress away.
std::vector<std::uint16_t> test_frame(std::uint64_t frame) {
  std::vector<std::uint16_t> adc(kPixels);
  std::uint64_t state = 0x9E3779B97F4A7C15ULL * (frame + 1);
  for (auto& value : adc) {
    state ^= state << 13;  // xorshift64
    state ^= state >> 7;
    state ^= state << 17;
    value = static_cast<std::uint16_t>(state & 0x3FFF);
  }
  return adc;
}

wire::FrameHeader test_header(std::uint64_t i) {
  wire::FrameHeader h;
  h.message = i;
  h.run = 42;
  h.face = static_cast<std::uint32_t>(i % 4);
  h.timestamp = 1'000'000 + 2048 * i;
  h.sequence = 10 + i;
  h.score = 0.5 * static_cast<double>(i) - 1.0;
  h.threshold = 0.25;
  h.decision = static_cast<wire::Decision>(i % 3);
  h.missing_streams = static_cast<std::uint32_t>(i % 2 == 0 ? 0 : 1u << (i % 20));
  h.flags = static_cast<std::uint8_t>((i % 2 == 0 ? 0 : wire::flag::incomplete) | (i % 3 == 0 ? wire::flag::truth_known : 0));
  if ((h.flags & wire::flag::truth_known) != 0) {
    h.truth_visible_energy_mev = 5.5f + static_cast<float>(i);
    h.truth_nu_energy_mev = 12.25f + static_cast<float>(i);
  }
  h.arrival_to_decision_us = 100.0 + static_cast<double>(i);
  return h;
}

wire::RunInfo test_run_info(std::uint64_t run) {
  wire::RunInfo r;
  r.run = run;
  r.start_time_unix_ns = 1'700'000'000'000'000'000ULL;
  r.config_yaml = "source:\n  kind: emulator\nselection:\n  threshold: 0.25\n";
  r.model_file = "models/selector.lsm";
  r.model_hash = std::string(64, 'a');
  r.threshold = 0.25;
  r.prescale = 1000;
  r.software_version = "larsel 0.1.0";
  return r;
}

/// The /metadata row as the test reads it: HDF5 converts by field name, so this checks the names.
struct Row {
  std::uint64_t timestamp, sequence;
  std::uint32_t face;
  double score, threshold;
  std::uint8_t decision, flags;
  std::uint32_t missing_streams;
  float truth_visible_energy_mev, truth_nu_energy_mev;
  double arrival_to_decision_us;
};

H5::CompType row_type() {
  H5::EnumType decision(H5::PredType::NATIVE_UINT8);
  for (std::uint8_t v : {0, 1, 2}) decision.insert(wire::decision_name(static_cast<wire::Decision>(v)), &v);
  H5::CompType t(sizeof(Row));
  t.insertMember("timestamp", offsetof(Row, timestamp), H5::PredType::NATIVE_UINT64);
  t.insertMember("sequence", offsetof(Row, sequence), H5::PredType::NATIVE_UINT64);
  t.insertMember("face", offsetof(Row, face), H5::PredType::NATIVE_UINT32);
  t.insertMember("score", offsetof(Row, score), H5::PredType::NATIVE_DOUBLE);
  t.insertMember("threshold", offsetof(Row, threshold), H5::PredType::NATIVE_DOUBLE);
  t.insertMember("decision", offsetof(Row, decision), decision);
  t.insertMember("flags", offsetof(Row, flags), H5::PredType::NATIVE_UINT8);
  t.insertMember("missing_streams", offsetof(Row, missing_streams), H5::PredType::NATIVE_UINT32);
  t.insertMember("truth_visible_energy_mev", offsetof(Row, truth_visible_energy_mev), H5::PredType::NATIVE_FLOAT);
  t.insertMember("truth_nu_energy_mev", offsetof(Row, truth_nu_energy_mev), H5::PredType::NATIVE_FLOAT);
  t.insertMember("arrival_to_decision_us", offsetof(Row, arrival_to_decision_us), H5::PredType::NATIVE_DOUBLE);
  return t;
}

struct RecordedFile {
  std::vector<std::uint16_t> pixels;  // frames x 480 x 64
  std::vector<Row> rows;
  std::size_t frames = 0;
};

RecordedFile read_recorded(const fs::path& path) {
  H5::H5File file(path.string(), H5F_ACC_RDONLY);
  H5::DataSet frames = file.openDataSet("frames");
  hsize_t dims[3] = {};
  REQUIRE(frames.getSpace().getSimpleExtentNdims() == 3);
  frames.getSpace().getSimpleExtentDims(dims);
  REQUIRE(dims[1] == wire::kWires);
  REQUIRE(dims[2] == wire::kTicks);
  RecordedFile r;
  r.frames = dims[0];
  r.pixels.resize(r.frames * kPixels);
  if (r.frames > 0) frames.read(r.pixels.data(), H5::PredType::NATIVE_UINT16);
  H5::DataSet metadata = file.openDataSet("metadata");
  hsize_t rows = 0;
  metadata.getSpace().getSimpleExtentDims(&rows);
  REQUIRE(rows == r.frames);
  r.rows.resize(rows);
  if (rows > 0) metadata.read(r.rows.data(), row_type());
  return r;
}

std::string string_attribute(const fs::path& path, const char* name) {
  H5::H5File file(path.string(), H5F_ACC_RDONLY);
  H5::Attribute attr = file.openAttribute(name);
  std::string value;
  attr.read(attr.getStrType(), value);
  return value;
}

template <typename T>
T scalar_attribute(const fs::path& path, const char* name, const H5::PredType& type) {
  H5::H5File file(path.string(), H5F_ACC_RDONLY);
  T value{};
  file.openAttribute(name).read(type, &value);
  return value;
}

std::uint64_t u64_attribute(const fs::path& path, const char* name) {
  return scalar_attribute<std::uint64_t>(path, name, H5::PredType::NATIVE_UINT64);
}

void check_row(const Row& row, const wire::FrameHeader& h) {
  CHECK(row.timestamp == h.timestamp);
  CHECK(row.sequence == h.sequence);
  CHECK(row.face == h.face);
  CHECK(row.score == h.score);
  CHECK(row.threshold == h.threshold);
  CHECK(row.decision == static_cast<std::uint8_t>(h.decision));
  CHECK(row.flags == h.flags);
  CHECK(row.missing_streams == h.missing_streams);
  CHECK(row.arrival_to_decision_us == h.arrival_to_decision_us);
  if (std::isnan(h.truth_visible_energy_mev)) {
    CHECK(std::isnan(row.truth_visible_energy_mev));
    CHECK(std::isnan(row.truth_nu_energy_mev));
  } else {
    CHECK(row.truth_visible_energy_mev == h.truth_visible_energy_mev);
    CHECK(row.truth_nu_energy_mev == h.truth_nu_energy_mev);
  }
}

/// Frame `i` of `file` equals test_frame(expected), pixel for pixel.
bool frame_matches(const RecordedFile& file, std::size_t i, std::uint64_t expected) {
  const auto adc = test_frame(expected);
  return std::equal(adc.begin(), adc.end(), file.pixels.begin() + static_cast<std::ptrdiff_t>(i * kPixels));
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

/// Filters of /frames: (shuffle, deflate level or -1).
std::pair<bool, int> frame_filters(const fs::path& path) {
  H5::H5File file(path.string(), H5F_ACC_RDONLY);
  const H5::DSetCreatPropList plist = file.openDataSet("frames").getCreatePlist();
  hsize_t chunk[3] = {};
  REQUIRE(plist.getChunk(3, chunk) == 3);
  CHECK((chunk[0] == 1 && chunk[1] == wire::kWires && chunk[2] == wire::kTicks));
  bool shuffle = false;
  int deflate = -1;
  for (int i = 0; i < H5Pget_nfilters(plist.getId()); ++i) {
    unsigned flags = 0, values[4] = {};
    std::size_t count = 4;
    const H5Z_filter_t filter = H5Pget_filter2(plist.getId(), static_cast<unsigned>(i), &flags, &count, values, 0, nullptr, nullptr);
    shuffle = shuffle || filter == H5Z_FILTER_SHUFFLE;
    if (filter == H5Z_FILTER_DEFLATE) deflate = static_cast<int>(values[0]);
  }
  return {shuffle, deflate};
}

}  // namespace

TEST_CASE("writer: frames, metadata and attributes read back exactly", "[recording]") {
  larsel::test::TempDir dir;
  RecordingConfig config;
  config.directory = dir / "data";  // created by the writer
  config.frames_per_write = 4;      // 10 frames: two full batches, two frames left for close()
  config.compression_level = 3;
  constexpr std::uint64_t kFrames = 10;
  wire::RunInfo run = test_run_info(42);
  const auto before_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count());
  SelectedFrameWriter writer(config, run);
  for (std::uint64_t i = 0; i < kFrames; ++i) writer.append(test_header(i), test_frame(i));
  CHECK(writer.stats().frames_written == 8);  // the last two are still buffered
  writer.add_frames_missed(3);
  run.threshold = 0.5;  // the latest run info is what close() writes
  run.model_hash = std::string(64, 'b');
  writer.set_run_info(run);
  writer.close();
  writer.close();  // idempotent

  REQUIRE(writer.files().size() == 1);
  const fs::path path = writer.files()[0];
  CHECK(files_in(config.directory) == std::vector<fs::path>{path});  // no *.writing left
  std::smatch match;
  const std::string name = path.filename().string();
  REQUIRE(std::regex_match(name, match, kFileName));
  CHECK(match[1] == "000042");
  CHECK(match[2] == "0000");
  CHECK(writer.stats().frames_written == kFrames);
  CHECK(writer.stats().files_closed == 1);
  CHECK(writer.stats().bytes_closed == fs::file_size(path));

  const RecordedFile file = read_recorded(path);
  REQUIRE(file.frames == kFrames);
  for (std::uint64_t i = 0; i < kFrames; ++i) {
    CHECK(frame_matches(file, i, i));
    check_row(file.rows[i], test_header(i));
  }
  CHECK(frame_filters(path) == std::pair<bool, int>{true, 3});

  CHECK(string_attribute(path, "format") == "larsel.selected.v1");
  CHECK(u64_attribute(path, "run_number") == 42);
  CHECK(u64_attribute(path, "file_index") == 0);
  CHECK(u64_attribute(path, "frames") == kFrames);
  CHECK(u64_attribute(path, "frames_missed") == 3);
  CHECK(u64_attribute(path, "run_start_time_unix_ns") == run.start_time_unix_ns);
  CHECK(string_attribute(path, "config_yaml") == run.config_yaml);
  CHECK(string_attribute(path, "model_file") == run.model_file);
  CHECK(string_attribute(path, "model_hash") == run.model_hash);
  CHECK(string_attribute(path, "software_version") == run.software_version);
  CHECK(scalar_attribute<double>(path, "threshold", H5::PredType::NATIVE_DOUBLE) == 0.5);
  CHECK(scalar_attribute<std::uint32_t>(path, "prescale", H5::PredType::NATIVE_UINT32) == 1000);
  const std::uint64_t start_ns = u64_attribute(path, "start_time_unix_ns");
  const std::uint64_t stop_ns = u64_attribute(path, "stop_time_unix_ns");
  CHECK(before_ns <= start_ns);
  CHECK(start_ns <= stop_ns);
  const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");
  CHECK(std::regex_match(string_attribute(path, "start_time_utc"), iso));
  CHECK(std::regex_match(string_attribute(path, "stop_time_utc"), iso));
}

TEST_CASE("writer: compression level 0 stores frames without filters", "[recording]") {
  larsel::test::TempDir dir;
  RecordingConfig config;
  config.directory = dir.path();
  config.compression_level = 0;
  SelectedFrameWriter writer(config, test_run_info(1));
  writer.append(test_header(0), test_frame(0));
  writer.close();
  REQUIRE(writer.files().size() == 1);
  CHECK(frame_filters(writer.files()[0]) == std::pair<bool, int>{false, -1});
  CHECK(frame_matches(read_recorded(writer.files()[0]), 0, 0));
}

TEST_CASE("writer: rotation by size splits the frames over files in order", "[recording]") {
  larsel::test::TempDir dir;
  RecordingConfig config;
  config.directory = dir.path();
  config.max_file_mb = 0.1;  // ~2 incompressible frames
  config.frames_per_write = 2;
  constexpr std::uint64_t kFrames = 9;
  SelectedFrameWriter writer(config, test_run_info(7));
  for (std::uint64_t i = 0; i < kFrames; ++i) writer.append(test_header(i), test_frame(i));
  writer.close();

  const auto& files = writer.files();
  REQUIRE(files.size() >= 3);
  CHECK(files_in(dir.path()) == files);  // names sort in writing order; no *.writing left
  std::uint64_t next_frame = 0;
  for (std::size_t index = 0; index < files.size(); ++index) {
    std::smatch match;
    const std::string name = files[index].filename().string();
    REQUIRE(std::regex_match(name, match, kFileName));
    CHECK(std::stoul(match[2].str()) == index);
    CHECK(u64_attribute(files[index], "file_index") == index);
    const RecordedFile file = read_recorded(files[index]);
    CHECK(u64_attribute(files[index], "frames") == file.frames);
    for (std::size_t i = 0; i < file.frames; ++i, ++next_frame) {
      CHECK(frame_matches(file, i, next_frame));
      CHECK(file.rows[i].sequence == test_header(next_frame).sequence);
    }
  }
  CHECK(next_frame == kFrames);
}

TEST_CASE("writer: rotation by age, a new run, and a restarted writer", "[recording]") {
  larsel::test::TempDir dir;
  RecordingConfig config;
  config.directory = dir.path();
  config.max_file_seconds = 0.05;
  {
    SelectedFrameWriter writer(config, test_run_info(3));
    writer.append(test_header(0), test_frame(0));
    std::this_thread::sleep_for(80ms);
    writer.append(test_header(1), test_frame(1));  // the first file is now too old
    writer.set_run_info(test_run_info(4));         // a new run closes the open file
    writer.append(test_header(2), test_frame(2));
    writer.close();
    REQUIRE(writer.files().size() == 3);
    CHECK(writer.files()[0].filename().string().starts_with("larsel_run000003_0000_"));
    CHECK(writer.files()[1].filename().string().starts_with("larsel_run000003_0001_"));
    CHECK(writer.files()[2].filename().string().starts_with("larsel_run000004_0000_"));
    CHECK(u64_attribute(writer.files()[2], "run_number") == 4);
  }
  SelectedFrameWriter restarted(config, test_run_info(3));
  restarted.append(test_header(3), test_frame(3));
  restarted.close();
  REQUIRE(restarted.files().size() == 1);
  CHECK(restarted.files()[0].filename().string().starts_with("larsel_run000003_0002_"));
}

TEST_CASE("writer: the destructor writes the buffered frames and renames the file", "[recording]") {
  larsel::test::TempDir dir;
  RecordingConfig config;
  config.directory = dir.path();
  config.frames_per_write = 8;
  {
    SelectedFrameWriter writer(config, test_run_info(5));
    writer.add_frames_missed(2);  // before the first file: counted in it
    for (std::uint64_t i = 0; i < 3; ++i) writer.append(test_header(i), test_frame(i));
  }
  const auto files = files_in(dir.path());
  REQUIRE(files.size() == 1);
  CHECK(files[0].extension() == ".h5");
  const RecordedFile file = read_recorded(files[0]);
  REQUIRE(file.frames == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(frame_matches(file, i, i));
  CHECK(u64_attribute(files[0], "frames_missed") == 2);
}

TEST_CASE("writer: an unusable directory fails at construction, naming it", "[recording]") {
  larsel::test::TempDir dir;
  RecordingConfig config;
  config.directory = dir.path();
  SelectedFrameWriter first(config, test_run_info(1));  // a usable one first: the failure is the second's own
  std::ofstream(dir / "plain-file") << "not a directory";
  config.directory = dir / "plain-file" / "data";
  CHECK_THROWS_WITH(SelectedFrameWriter(config, test_run_info(1)), Catch::Contains(config.directory.string()));
  config.directory = dir / "plain-file";
  CHECK_THROWS_WITH(SelectedFrameWriter(config, test_run_info(1)), Catch::Contains(config.directory.string()));
  if (::geteuid() != 0) {  // root writes anywhere: only an unprivileged run can test permissions
    config.directory = dir / "read-only";
    fs::create_directories(config.directory);
    ::chmod(config.directory.c_str(), 0500);
    CHECK_THROWS_WITH(SelectedFrameWriter(config, test_run_info(1)), Catch::Contains(config.directory.string()) && Catch::Contains("cannot write"));
    ::chmod(config.directory.c_str(), 0700);
  }
  {  // an HDF5 failure names the file and the step
    config.directory = dir / "vanishing";
    SelectedFrameWriter writer(config, test_run_info(1));
    fs::remove_all(config.directory);
    try {
      writer.append(test_header(0), test_frame(0));
      FAIL("append into a removed directory did not throw");
    } catch (const std::runtime_error& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).starts_with((config.directory / "larsel_run000001_0000_").string()));
      CHECK_THAT(e.what(), Catch::Contains(".h5.writing: creating the file failed") && Catch::Contains("No such file or directory"));
    }
    CHECK_NOTHROW(writer.close());  // nothing was opened
  }
  config.directory = dir.path();
  config.compression_level = 10;
  CHECK_THROWS_WITH(SelectedFrameWriter(config, test_run_info(1)), Catch::Contains("compression level 10"));
}

namespace {

/// An XPUB socket on a free loopback port, as `larsel run` binds it.
class Publisher {
 public:
  Publisher() {
    socket_.set(zmq::sockopt::linger, 1000);
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(larsel::test::free_tcp_port());
    socket_.bind(endpoint_);
  }
  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }

  /// The topics subscribed within `timeout` (0x01 + prefix messages): after them, nothing is lost to the slow joiner.
  std::set<std::string> wait_for_subscriptions(std::size_t count, std::chrono::milliseconds timeout) {
    socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    std::set<std::string> topics;
    zmq::message_t message;
    while (topics.size() < count && socket_.recv(message)) {
      if (message.size() > 0 && message.data<char>()[0] == 1) topics.emplace(message.data<char>() + 1, message.size() - 1);
    }
    return topics;
  }

  void send(std::string_view topic, const std::string& header, const void* payload = nullptr, std::size_t payload_bytes = 0) {
    socket_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(header), payload != nullptr ? zmq::send_flags::sndmore : zmq::send_flags::none);
    if (payload != nullptr) socket_.send(zmq::const_buffer(payload, payload_bytes), zmq::send_flags::none);
  }
  void send_frame(const wire::FrameHeader& header, const std::vector<std::uint16_t>& adc) {
    send(wire::kTopicSelected, wire::to_json(header), adc.data(), adc.size() * sizeof(std::uint16_t));
  }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::xpub};
  std::string endpoint_;
};

/// `larsel record` started against `publisher`, once both its subscriptions have arrived.
std::unique_ptr<larsel::test::BackgroundLarsel> start_recorder(Publisher& publisher, const fs::path& out, std::vector<std::string> extra) {
  std::vector<std::string> args{"record", "--connect", publisher.endpoint(), "--out", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto recorder = std::make_unique<larsel::test::BackgroundLarsel>(args);
  REQUIRE(recorder->started());
  const auto topics = publisher.wait_for_subscriptions(2, 5s);
  INFO(recorder->err());
  REQUIRE(topics == std::set<std::string>{"frame.selected", "run.info"});
  return recorder;
}

/// "name value" summary lines -> map.
std::map<std::string, std::string> summary_fields(const std::string& out) {
  std::map<std::string, std::string> fields;
  std::istringstream lines(out);
  std::string name, value;
  while (lines >> name >> value) fields[name] = value;
  return fields;
}

/// h5dump (hdf5-tools) reads the file's header; skipped when h5dump is not installed.
void check_h5dump_reads(const fs::path& path) {
  if (std::system("command -v h5dump >/dev/null 2>&1") != 0) {
    WARN("h5dump not installed: header check skipped");
    return;
  }
  larsel::test::TempDir dir;
  const std::string command = "h5dump -H '" + path.string() + "' >'" + (dir / "out").string() + "' 2>&1";
  CHECK(std::system(command.c_str()) == 0);
  const std::string header = larsel::test::slurp(dir / "out");
  INFO(header);
  CHECK(header.find("DATASET \"frames\"") != std::string::npos);
  CHECK(header.find("DATASET \"metadata\"") != std::string::npos);
  CHECK(header.find("truth_visible_energy_mev") != std::string::npos);
}

}  // namespace

TEST_CASE("larsel record: every published frame lands in the file, byte for byte", "[recording]") {
  larsel::test::TempDir dir;
  Publisher publisher;
  auto recorder = start_recorder(publisher, dir / "out", {"--max-file-mb", "1000"});
  wire::RunInfo run = test_run_info(77);
  publisher.send(wire::kTopicRunInfo, wire::to_json(run));
  // More than the recorder takes per wake and writes in the time the sends take: many frames are
  // still in flight when the signal arrives.
  constexpr std::uint64_t kFrames = 600;
  for (std::uint64_t i = 0; i < kFrames; ++i) {
    if (i == kFrames / 2) publisher.send(wire::kTopicSelected, "{not json", "x", 1);  // malformed: counted, not recorded
    publisher.send_frame(test_header(i), test_frame(i));
  }
  recorder->signal(SIGTERM);  // right after the last send: what was published must still land
  const auto result = recorder->wait(10s);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);

  const auto fields = summary_fields(result.out);
  CHECK(fields.at("frames_recorded") == std::to_string(kFrames));
  CHECK(fields.at("frames_missed") == "0");
  CHECK(fields.at("messages_malformed") == "1");
  CHECK(fields.at("files") == "1");
  const auto files = files_in(dir / "out");
  REQUIRE(files.size() == 1);
  CHECK(fields.at("file") == files[0].string());
  CHECK(files[0].filename().string().starts_with("larsel_run000077_0000_"));
  const RecordedFile file = read_recorded(files[0]);
  REQUIRE(file.frames == kFrames);
  for (std::uint64_t i = 0; i < kFrames; ++i) {
    CHECK(frame_matches(file, i, i));
    check_row(file.rows[i], test_header(i));
  }
  CHECK(u64_attribute(files[0], "run_number") == 77);
  CHECK(string_attribute(files[0], "config_yaml") == run.config_yaml);
  CHECK(string_attribute(files[0], "model_hash") == run.model_hash);
  CHECK(u64_attribute(files[0], "frames_missed") == 0);
  check_h5dump_reads(files[0]);
}

TEST_CASE("larsel record: gaps in the message counter become frames_missed", "[recording]") {
  larsel::test::TempDir dir;
  Publisher publisher;
  auto recorder = start_recorder(publisher, dir.path(), {"--run", "9", "--json", "--compression", "0"});
  publisher.send(wire::kTopicRunInfo, wire::to_json(test_run_info(77)));  // --run wins
  const std::vector<std::uint64_t> messages{0, 1, 2, 5, 6, 10};          // 2 + 3 missed
  for (const std::uint64_t m : messages) publisher.send_frame(test_header(m), test_frame(m));
  recorder->signal(SIGINT);
  const auto result = recorder->wait(10s);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);

  const auto report = nlohmann::json::parse(result.out);
  CHECK(report.at("frames_recorded") == messages.size());
  CHECK(report.at("frames_missed") == 5);
  CHECK(report.at("messages_malformed") == 0);
  REQUIRE(report.at("files").size() == 1);
  const fs::path path = report.at("files")[0].get<std::string>();
  CHECK(path.filename().string().starts_with("larsel_run000009_0000_"));
  CHECK(u64_attribute(path, "frames_missed") == 5);
  CHECK(u64_attribute(path, "run_number") == 9);
  const RecordedFile file = read_recorded(path);
  REQUIRE(file.frames == messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) CHECK(frame_matches(file, i, messages[i]));
}

TEST_CASE("larsel record: --frames stops after that many, and a bad --out is a one-line error", "[recording]") {
  larsel::test::TempDir dir;
  {
    Publisher publisher;
    auto recorder = start_recorder(publisher, dir / "out", {"--frames", "3", "--json"});
    for (std::uint64_t i = 0; i < 5; ++i) publisher.send_frame(test_header(i), test_frame(i));
    const auto result = recorder->wait(10s);
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    const auto report = nlohmann::json::parse(result.out);
    CHECK(report.at("frames_recorded") == 3);
    REQUIRE(report.at("files").size() == 1);
    CHECK(read_recorded(report.at("files")[0].get<std::string>()).frames == 3);
  }
  std::ofstream(dir / "plain-file") << "x";
  const auto bad = larsel::test::run_larsel("record --connect tcp://127.0.0.1:1 --out '" + (dir / "plain-file" / "d").string() + "'");
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("larsel: error: recording directory " + (dir / "plain-file" / "d").string()) != std::string::npos);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
}
