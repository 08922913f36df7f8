// Issue 19: recordings that survive SIGKILL and a full disk, and a publisher that a hostile peer cannot
// make allocate without bound. Real processes, real sockets on 127.0.0.1, real HDF5 files read back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <utility>

#include <hdf5.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "support.hpp"

using larsel::test::BackgroundLarsel;
using larsel::test::TempDir;
using larsel::test::wait_for_log;
using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

fs::path write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

/// A 6 s run of emulator_run_config() without recording, started; returns once it publishes.
std::unique_ptr<BackgroundLarsel> start_short_run(const TempDir& dir, int port) {
  const auto config = write_text(dir / "run.yaml", larsel::test::emulator_run_config(dir / "data", port, 6));
  auto run = std::make_unique<BackgroundLarsel>(std::vector<std::string>{"run", "--config", config.string(), "--json", "--no-hdf5"});
  REQUIRE(wait_for_log(*run, "publishing on", std::chrono::seconds(60)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return run;
}

std::vector<fs::path> files_with(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().string().ends_with(suffix)) found.push_back(e.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

/// (face, sequence) of every row of a recording opened the plain way (as h5py does by default).
std::set<std::pair<std::uint32_t, std::uint64_t>> recorded_frames(const fs::path& file, std::uint64_t* frames_attribute = nullptr) {
  const hid_t h5 = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(h5 >= 0);
  const hid_t metadata = H5Dopen2(h5, "metadata", H5P_DEFAULT);
  const hid_t space = H5Dget_space(metadata);
  hsize_t rows = 0;
  H5Sget_simple_extent_dims(space, &rows, nullptr);
  struct Key {
    std::uint64_t sequence;
    std::uint32_t face;
  };
  const hid_t type = H5Tcreate(H5T_COMPOUND, sizeof(Key));
  H5Tinsert(type, "sequence", offsetof(Key, sequence), H5T_NATIVE_UINT64);
  H5Tinsert(type, "face", offsetof(Key, face), H5T_NATIVE_UINT32);
  std::vector<Key> keys(rows);
  if (rows > 0) REQUIRE(H5Dread(metadata, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, keys.data()) >= 0);
  if (frames_attribute != nullptr) {
    const hid_t attribute = H5Aopen(h5, "frames", H5P_DEFAULT);
    H5Aread(attribute, H5T_NATIVE_UINT64, frames_attribute);
    H5Aclose(attribute);
  }
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(metadata);
  H5Fclose(h5);
  std::set<std::pair<std::uint32_t, std::uint64_t>> frames;
  for (const auto& k : keys) frames.emplace(k.face, k.sequence);
  return frames;
}

/// Peak resident set size of a process in kB (/proc/PID/status VmHWM): a buffer that was filled
/// and freed again still shows.
std::uint64_t peak_resident_kb(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6));
  }
  return 0;
}

/// Speaks ZMTP 3.0 (rfc.zeromq.org/spec/23) to a ZeroMQ socket on 127.0.0.1:`port` as a SUB peer
/// would, then announces one message frame of `size` bytes and streams it. Returns the bytes of it
/// sent before the peer closed the connection.
std::size_t send_oversized_zmtp_message(int port, std::size_t size) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  std::string greeting(64, '\0');  // signature, version 3.0, mechanism NULL, as-server 0, filler
  greeting[0] = '\xff';
  greeting[9] = '\x7f';
  greeting[10] = 3;
  greeting.replace(12, 4, "NULL");
  const std::string ready_body = std::string("\x05READY\x0bSocket-Type", 18) + std::string("\0\0\0\x03SUB", 7);
  std::string handshake = greeting + '\x04' + static_cast<char>(ready_body.size()) + ready_body;
  handshake += '\x02';  // a long, final message frame: 8-byte big-endian size follows
  for (int shift = 56; shift >= 0; shift -= 8) handshake += static_cast<char>((size >> shift) & 0xff);
  std::size_t sent = 0;
  if (::send(fd, handshake.data(), handshake.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(handshake.size())) {
    const std::vector<char> chunk(1u << 20, 'x');
    while (sent < size) {
      const ssize_t n = ::send(fd, chunk.data(), std::min(chunk.size(), size - sent), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
  return sent;
}

}  // namespace

TEST_CASE("SIGKILL mid-run: the file being written holds every frame published over a second before, and larsel recover closes it",
          "[reliability]") {
  TempDir dir;
  const int port = larsel::test::free_tcp_port();
  std::string text = larsel::test::emulator_run_config(dir / "data", port, 0, "  max_file_mb: 0");
  text.replace(text.find("zmq:\n"), 5, "zmq:\n  wait_for_subscribers: 1\n");
  const auto config = write_text(dir / "run.yaml", text);

  zmq::context_t context;
  zmq::socket_t subscriber(context, zmq::socket_type::sub);
  subscriber.set(zmq::sockopt::subscribe, "frame.selected");
  subscriber.set(zmq::sockopt::rcvtimeo, 50);
  subscriber.connect(fmt::format("tcp://127.0.0.1:{}", port));
  BackgroundLarsel run({"run", "--config", config.string(), "--json"});
  REQUIRE(wait_for_log(run, "taking data", std::chrono::seconds(60)));

  std::vector<std::pair<Clock::time_point, std::pair<std::uint32_t, std::uint64_t>>> published;
  const auto kill_at = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < kill_at) {
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(subscriber, std::back_inserter(parts))) continue;
    const json header = json::parse(parts.at(1).to_string());
    published.emplace_back(Clock::now(), std::pair{header["face"].get<std::uint32_t>(), header["sequence"].get<std::uint64_t>()});
  }
  run.signal(SIGKILL);
  run.wait(std::chrono::seconds(10));
  REQUIRE(published.size() > 100);

  const auto writing = files_with(dir / "data", ".h5.writing");
  REQUIRE(writing.size() == 1);
  const auto recovered = larsel::test::run_larsel(fmt::format("recover {}", writing[0].string()));
  INFO("stdout: " << recovered.out << "\nstderr: " << recovered.err);
  REQUIRE(recovered.exit_code == 0);
  CHECK(!fs::exists(writing[0]));
  const auto complete = files_with(dir / "data", ".h5");
  REQUIRE(complete.size() == 1);
  std::uint64_t frames_attribute = 0;
  const auto in_file = recorded_frames(complete[0], &frames_attribute);
  CHECK(frames_attribute == in_file.size());
  // The bound: the recorder flushes once a second; allow another second for the queues.
  const auto bound = kill_at - std::chrono::seconds(2);
  std::size_t older = 0, missing = 0;
  for (const auto& [when, key] : published) {
    if (when > bound) continue;
    ++older;
    if (!in_file.contains(key)) ++missing;
  }
  INFO(older << " frames published more than 2 s before the kill, " << in_file.size() << " in the recovered file");
  CHECK(older > 50);
  CHECK(missing == 0);
  CHECK(in_file.size() <= published.size());
}

TEST_CASE("larsel recover refuses what it cannot recover, in one line", "[reliability]") {
  TempDir dir;
  write_text(dir / "junk.h5.writing", "not an HDF5 file");
  auto r = larsel::test::run_larsel(fmt::format("recover {}", (dir / "junk.h5.writing").string()));
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("junk.h5.writing: opening") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(fs::exists(dir / "junk.h5.writing"));  // nothing is removed that was not recovered
  write_text(dir / "done.h5", "x");
  r = larsel::test::run_larsel(fmt::format("recover {}", (dir / "done.h5").string()));
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("needs no recovery") != std::string::npos);
}

TEST_CASE("a full disk mid-run: the run goes on deciding, counts what it could not record, closed files stay valid", "[reliability]") {
  if (::geteuid() != 0 || std::system("unshare -m true 2>/dev/null") != 0) {
    std::cout << "SKIPPED: a private tmpfs needs root (unshare -m, mount)\n";
    return;
  }
  TempDir dir;
  const int port = larsel::test::free_tcp_port();
  const fs::path mount = dir / "disk", kept = dir / "kept";
  fs::create_directories(mount);
  fs::create_directories(kept);
  const auto config = write_text(dir / "run.yaml", larsel::test::emulator_run_config(mount / "data", port, 4, "  max_file_mb: 0.25"));
  // A 1.5 MB tmpfs in a private mount namespace; what it holds is copied out before the namespace ends.
  const std::string command = fmt::format(
      "unshare -m --propagation private sh -c 'mount -t tmpfs -o size=1536k tmpfs {0} && \"{1}\" run --config {2} --json >{3} 2>{4}; "
      "rc=$?; cp -a {0}/. {5}/; exit $rc'",
      mount.string(), LARSEL_EXECUTABLE, config.string(), (dir / "out").string(), (dir / "err").string(), kept.string());
  const int status = std::system(command.c_str());
  const std::string out = larsel::test::slurp(dir / "out"), err = larsel::test::slurp(dir / "err");
  INFO("stdout: " << out << "\nstderr: " << err);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const json s = json::parse(out);
  CHECK(s["recording"]["failed"] == true);
  CHECK(s["recording"]["error"].get<std::string>().find("No space left on device") != std::string::npos);
  CHECK(s["outputs"]["recorder_write_failed"].get<std::uint64_t>() > 0);
  CHECK(s["frames"]["accepted"] == s["frames"]["decided"]);  // deciding went on
  CHECK(s["frames_lost"] == 0);
  CHECK(err.find("HDF5-DIAG") == std::string::npos);  // HDF5's own error stack is never printed
  CHECK(std::count(err.begin(), err.end(), '\n') < 40);
  REQUIRE(!s["files"].empty());  // files closed before the disk filled
  std::uint64_t in_closed_files = 0;
  for (const auto& f : s["files"]) {
    std::uint64_t frames_attribute = 0;
    const auto frames = recorded_frames(kept / "data" / fs::path(f.get<std::string>()).filename(), &frames_attribute);
    CHECK(frames.size() == frames_attribute);
    in_closed_files += frames.size();
  }
  const std::uint64_t selected = s["frames"]["selected"].get<std::uint64_t>();
  CHECK(in_closed_files + s["outputs"]["recorder_write_failed"].get<std::uint64_t>() <= selected);
  for (const auto& f : s["recording"]["incomplete_files"]) {
    const fs::path copy = kept / "data" / fs::path(f.get<std::string>()).filename();
    const auto r = larsel::test::run_larsel(fmt::format("recover {}", copy.string()));
    INFO(r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("a write error with hdf5.on_write_error: fail_run ends the run early with one error line", "[reliability]") {
  TempDir dir;
  const int port = larsel::test::free_tcp_port();
  const auto config =
      write_text(dir / "run.yaml", larsel::test::emulator_run_config(dir / "data", port, 30, "  max_file_mb: 0\n  on_write_error: fail_run"));
  // A file-size limit (RLIMIT_FSIZE) is a write error anyone can cause: EFBIG once a file passes 1 MB
  // (larsel ignores SIGXFSZ, which would otherwise kill it).
  const std::string command = fmt::format("sh -c 'ulimit -f 1000; exec \"{}\" run --config {} --json' >{} 2>{}",
                                          LARSEL_EXECUTABLE, config.string(), (dir / "out").string(), (dir / "err").string());
  const auto start = Clock::now();
  const int status = std::system(command.c_str());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::string out = larsel::test::slurp(dir / "out"), err = larsel::test::slurp(dir / "err");
  INFO("stdout: " << out << "\nstderr: " << err);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(seconds < 25);
  CHECK(err.find("larsel: error: run 1: recording failed (hdf5.on_write_error: fail_run)") != std::string::npos);
  CHECK(err.find("File too large") != std::string::npos);
  CHECK(err.find("HDF5-DIAG") == std::string::npos);
  const json s = json::parse(out);
  CHECK(s["frames"]["accepted"] == s["frames"]["decided"]);
}

TEST_CASE("a peer announcing a 300 MB message to the publisher is cut off without the process growing", "[reliability]") {
  TempDir dir;
  const int port = larsel::test::free_tcp_port();
  const auto run = start_short_run(dir, port);
  const pid_t pid = run->pid();
  const std::uint64_t before_kb = peak_resident_kb(pid);
  const std::size_t sent = send_oversized_zmtp_message(port, std::size_t{300} << 20);
  INFO(sent << " bytes of the 300 MB frame went out before the publisher closed the connection");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const std::uint64_t after_kb = peak_resident_kb(pid);
  INFO("peak resident " << before_kb << " kB before, " << after_kb << " kB after");
  CHECK(sent < (std::size_t{300} << 20));
  CHECK(after_kb < before_kb + 20'000);
  const auto r = run->wait(std::chrono::seconds(60));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["frames"]["decided"].get<std::uint64_t>() > 0);
}

TEST_CASE("a flood of idle and junk connections to the publisher leaves the run deciding every frame", "[reliability]") {
  TempDir dir;
  const int port = larsel::test::free_tcp_port();
  const auto run = start_short_run(dir, port);
  const std::uint64_t before_kb = peak_resident_kb(run->pid());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> connections;
  for (int i = 0; i < 400; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ::close(fd);
      continue;
    }
    if (i % 2 == 0) ::send(fd, "GET / HTTP/1.1\r\n\r\n", 18, MSG_NOSIGNAL);  // junk instead of a ZMTP greeting
    connections.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::uint64_t after_kb = peak_resident_kb(run->pid());
  for (const int fd : connections) ::close(fd);
  const auto r = run->wait(std::chrono::seconds(60));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json s = json::parse(r.out);
  INFO(connections.size() << " connections; peak resident " << before_kb << " kB before, " << after_kb << " kB with them");
  CHECK(connections.size() > 300);
  CHECK(after_kb < before_kb + 50'000);
  CHECK(s["frames"]["accepted"] == s["frames"]["decided"]);
  CHECK(s["frames_lost"] == 0);
}
