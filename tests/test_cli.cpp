// The larsel executable as a user runs it: exit codes, one-line errors,
// HDF5 output read back, and emulate -> receive as two real processes.
#include <catch2/catch.hpp>

#include <thread>

#include <H5Cpp.h>
#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "kernel_sets.hpp"
#include "support.hpp"

using larsel::test::run_larsel;

namespace {

unsigned short free_udp_port() {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket s(io, boost::asio::ip::udp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  return s.local_endpoint().port();
}

std::size_t line_count(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

TEST_CASE("help and usage errors", "[cli]") {
  const auto help = run_larsel("--help");
  CHECK(help.exit_code == 0);
  for (const char* cmd : {"demo", "emulate", "receive", "wibeth", "bench", "simulate", "display"}) {
    CHECK_THAT(help.out, Catch::Contains(cmd));
    CHECK(run_larsel(std::string(cmd) + " --help").exit_code == 0);
  }
  CHECK(run_larsel("wibeth decode --help").exit_code == 0);
  CHECK(run_larsel("bench ingest --help").exit_code == 0);
  CHECK(run_larsel("").exit_code == 2);
  CHECK(run_larsel("frobnicate").exit_code == 2);
  CHECK(run_larsel("emulate --drop 2").exit_code == 2);
  CHECK(run_larsel("emulate --max --speed 0.5").exit_code == 2);
  CHECK(run_larsel("receive --frames 10 --seconds 1").exit_code == 2);
  CHECK(run_larsel("simulate --signal 3").exit_code == 2);                 // no --out
  CHECK(run_larsel("simulate --out /tmp/never-written.h5").exit_code == 2);  // nothing to simulate
  CHECK(run_larsel("emulate --burst 1:2:3 --frames 1").exit_code == 2);
}

TEST_CASE("runtime errors exit 1 with one line saying what was wrong", "[cli]") {
  larsel::test::TempDir dir;
  const auto missing = run_larsel("wibeth decode /no/such/file.bin");
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "larsel: error: /no/such/file.bin: cannot read the WIBEth file (No such file or directory)\n");
  const auto directory = run_larsel("wibeth decode '" + dir.path().string() + "'");
  CHECK(directory.exit_code == 1);
  CHECK(directory.err == "larsel: error: " + dir.path().string() + ": cannot read the WIBEth file (a directory)\n");
  std::ofstream(dir / "garbage.bin") << std::string(1000, 'x');
  const auto garbage = run_larsel("wibeth decode '" + (dir / "garbage.bin").string() + "'");
  CHECK(garbage.exit_code == 1);
  CHECK_THAT(garbage.err, Catch::Contains("1000 bytes is not a whole number of 7200-byte WIBEth frames"));
  CHECK(line_count(garbage.err) == 1);
  const auto bad_address = run_larsel("receive --listen nowhere --seconds 1");  // a bad option value is a usage error
  CHECK(bad_address.exit_code == 2);
  CHECK_THAT(bad_address.err, Catch::Contains("expected HOST:PORT"));
  CHECK(run_larsel("emulate --drop 0.6 --corrupt 0.6 --frames 1").exit_code == 2);
  const auto bad_log = run_larsel("emulate --frames 1 --fault-log /no/such/dir/faults.json");
  CHECK(bad_log.exit_code == 1);
  CHECK_THAT(bad_log.err, Catch::Contains("cannot open the fault log"));
  std::ofstream(dir / "bad.yaml") << "emulator:\n  speeed: 3\n";
  const auto bad_config = run_larsel("demo --config '" + (dir / "bad.yaml").string() + "'");
  CHECK(bad_config.exit_code == 1);
  CHECK_THAT(bad_config.err, Catch::Contains("emulator.speeed: unknown key"));
}

TEST_CASE("wibeth decode --out writes HDF5 that reads back as DUNE's golden ADCs", "[cli][fixture]") {
  const auto fixtures = larsel::test::fixture_dir();
  if (!fixtures) return;
  larsel::test::TempDir dir;
  const auto out = dir / "decoded.h5";
  const auto r = run_larsel("wibeth decode '" + (*fixtures / "wibeth_fragment.bin").string() + "' --out '" + out.string() + "'");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("2 WIBEth frames") && Catch::Contains("crate 1  slot 0  stream 0") &&
                        Catch::Contains("2214 .. 2215") && Catch::Contains("107544625968523275"));
  CHECK_FALSE(std::filesystem::exists(out.string() + ".tmp"));

  H5::H5File file(out.string(), H5F_ACC_RDONLY);
  H5::DataSet adc = file.openDataSet("adc");
  hsize_t dims[2];
  adc.getSpace().getSimpleExtentDims(dims);
  CHECK(dims[0] == 64);
  CHECK(dims[1] == 128);
  CHECK(adc.getDataType() == H5::PredType::NATIVE_INT16);
  std::vector<std::int16_t> values(64 * 128);
  adc.read(values.data(), H5::PredType::NATIVE_INT16);
  const auto golden = larsel::test::read_bytes(*fixtures / "wibeth_golden.bin");
  CHECK(std::memcmp(values.data(), golden.data(), golden.size()) == 0);
  std::vector<std::uint64_t> ts(2);
  file.openDataSet("timestamp").read(ts.data(), H5::PredType::NATIVE_UINT64);
  CHECK(ts == std::vector<std::uint64_t>{107544625968523275ULL, 107544625968525323ULL});
  std::vector<std::uint16_t> seq(2);
  file.openDataSet("seq_id").read(seq.data(), H5::PredType::NATIVE_UINT16);
  CHECK(seq == std::vector<std::uint16_t>{2214, 2215});
  for (const char* name : {"stream_id", "crate_id", "slot_id"}) {
    hsize_t n;
    file.openDataSet(name).getSpace().getSimpleExtentDims(&n);
    CHECK(n == 2);
  }

  const auto json = run_larsel("wibeth decode --json '" + (*fixtures / "wibeth_fragment.bin").string() + "'");
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["frames"] == 2);
  CHECK(j["channels"].size() == 64);
  CHECK(j["fragment"]["run_number"] == 27980);
}

TEST_CASE("emulate and receive as separate processes over loopback, with faults counted", "[cli][udp]") {
  larsel::test::TempDir dir;
  const std::string address = "127.0.0.1:" + std::to_string(free_udp_port());
  larsel::test::ProcessResult received;
  std::thread receiver([&] { received = run_larsel("receive --listen " + address + " --seconds 30 --idle-seconds 1 --timeout-us 2000000 --json"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto sent = run_larsel("emulate --target " + address + " --speed 0.1 --frames 3000 --duplicate 0.01 --corrupt 0.01 "
                               "--json --fault-log '" + (dir / "faults.json").string() + "'");
  receiver.join();
  REQUIRE(sent.exit_code == 0);
  REQUIRE(received.exit_code == 0);
  const auto e = nlohmann::json::parse(sent.out);
  const auto r = nlohmann::json::parse(received.out);
  const auto faults = nlohmann::json::parse(larsel::test::slurp(dir / "faults.json"));
  const std::uint64_t duplicated = e["faults_injected"]["duplicated"], corrupted = e["faults_injected"]["corrupted"];
  CHECK(faults.size() == duplicated + corrupted);
  CHECK(e["periods_sent"] == 3000);
  const auto& c = r["counters"];
  CHECK(c["datagrams_received"] == e["datagrams_sent"]);
  CHECK(c["duplicate"] == duplicated);
  CHECK(c["malformed_size"].get<std::uint64_t>() + c["malformed_header"].get<std::uint64_t>() == corrupted);
  CHECK(c["datagrams_accepted"] == 3000 * 20 - corrupted);
  CHECK(c["stream_frames_lost"] == corrupted);
  CHECK(r["frames_emitted"] == 3000);
}

TEST_CASE("demo runs emulator and receiver together without loss", "[cli][udp]") {
  const auto r = run_larsel("demo --seconds 1");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("; 0 lost"));
  CHECK_THAT(r.out, Catch::Contains("receiver counters (0 anomalies)"));
  CHECK(run_larsel("demo --print-config").out.find("emulator:") != std::string::npos);
}

TEST_CASE("Kernel sets: --kernels and LARSEL_KERNELS choose the hot paths' kernels, and a bad one is one line", "[cli]") {
  const auto run = run_larsel("--kernels baseline bench ingest --skip-loopback --decode-repeats 2");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto j = nlohmann::json::parse(run.out);
  CHECK(j["machine"]["kernel_set_selected"] == "baseline");
  CHECK(j["machine"]["kernel_set_forced"] == "LARSEL_KERNELS=baseline");
  CHECK(j["decode"]["kernel"] == "baseline");
  const auto best = nlohmann::json::parse(run_larsel("bench ingest --skip-loopback --decode-repeats 2").out);
  CHECK(best["machine"]["kernel_set_forced"].is_null());
  CHECK(best["machine"]["kernel_set_selected"] == best["machine"]["kernel_sets_this_cpu_runs"].back());
  CHECK(run_larsel("--kernels sse9 bench ingest --skip-loopback").exit_code == 2);
  ::setenv("LARSEL_KERNELS", "sse9", 1);
  const auto bad = run_larsel("bench ingest --skip-loopback --decode-repeats 2");
  ::unsetenv("LARSEL_KERNELS");
  CHECK(bad.exit_code == 1);
  CHECK(bad.err == "larsel: error: LARSEL_KERNELS=sse9: not a kernel set (baseline, avx2, avx512, avx512vnni)\n");
}

TEST_CASE("larsel bench chain runs one face's datagrams to decisions on one thread for every kernel set", "[cli][bench]") {
  const auto model = std::filesystem::path(LARSEL_SOURCE_DIR) / "models/default-model.h5";
  const auto run = run_larsel("bench chain --frames 400 --rounds 1 --periods 16 --model '" + model.string() + "'");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto j = nlohmann::json::parse(run.out);
  std::size_t sets = 0;
  for (const larsel::core::KernelSet set : larsel::test::runnable_kernel_sets()) {
    const std::string name(larsel::core::name(set));
    INFO(name);
    REQUIRE(j["kernel_sets"].contains(name));
    const auto& k = j["kernel_sets"][name];
    CHECK(k["kernels"]["twin"] == name + "-packed");
    CHECK(k["us_per_face_frame"]["frames"] == 400);
    const double mean = k["us_per_face_frame"]["mean"].get<double>();
    CHECK(mean > 0);
    double stages = 0;
    for (const auto& [stage, us] : k["stage_mean_us"].items()) stages += us.get<double>();
    CHECK(stages == Approx(mean).epsilon(1e-6));  // the stages make up the whole
    CHECK(k["anomalies"] == 0);                   // every datagram valid, every frame complete
    // 1 in 4 periods holds a supernova-like interaction (some below 5 MeV visible): about a quarter selected.
    CHECK(k["selected_fraction"].get<double>() > 0.15);
    CHECK(k["selected_fraction"].get<double>() < 0.3);
    ++sets;
  }
  CHECK(j["kernel_sets"].size() == sets);
  CHECK(run_larsel("bench chain --kernel-sets sse9").exit_code == 2);
}
