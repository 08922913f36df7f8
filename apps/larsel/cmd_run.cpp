// larsel run: the streaming pipeline (the Quick start's main job). See pipeline/include/larsel/pipeline/pipeline.hpp.
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "larsel/core/file_io.hpp"
#include "larsel/pipeline/pipeline.hpp"
#include "signal_stop.hpp"

namespace larsel::app {
namespace {

using nlohmann::ordered_json;

struct RunOptions {
  std::string config_path;
  bool print_config = false;
  bool json = false;
  double seconds = -1, speed = -1;  // override the config when >= 0
  std::string out, publish;
  bool no_hdf5 = false;
  bool fail_on_loss = false;  // or run.fail_on_loss
};

pipeline::PipelineConfig load_config(const RunOptions& o) {
  auto c = o.config_path.empty() ? pipeline::parse_pipeline_config("", "embedded default config")
                                 : pipeline::parse_pipeline_config(core::read_file(o.config_path, "config file"), o.config_path);
  if (o.seconds >= 0) c.seconds = o.seconds;
  if (o.speed > 0) c.input.speed = o.speed;
  if (!o.out.empty()) c.hdf5.recording.directory = o.out;
  if (!o.publish.empty()) c.zmq.publish = o.publish == "none" ? "" : o.publish;
  if (o.no_hdf5) c.hdf5.enabled = false;
  if (o.fail_on_loss) c.fail_on_loss = true;
  return c;
}

std::string count(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string truth_line(const ordered_json& t) {
  if (t.is_null()) return "no truth (udp input)";
  const auto signal = t["signal_frames"].get<std::uint64_t>(), background = t["background_frames"].get<std::uint64_t>();
  const auto fakes = t["background_selected"].get<std::uint64_t>();
  // With no fake, the 90 % CL upper limit on the rate is 2.3 / N (Poisson).
  const std::string fake = fakes == 0 && background > 0 ? fmt::format("0 of {} (< {:.1e} at 90 % CL)", count(background), 2.303 / static_cast<double>(background))
                                                        : fmt::format("{:.2e} ({} of {})", t["fake_rate"].get<double>(), count(fakes), count(background));
  return fmt::format("efficiency {:.1f} % ({} of {} signal frames); fake rate {}", 100.0 * t["efficiency"].get<double>(),
                     count(t["signal_selected"].get<std::uint64_t>()), count(signal), fake);
}

/// The summary's first line says plainly whether the run kept up with its input.
void print_verdict(const ordered_json& s) {
  const auto& f = s["frames"];
  const std::uint64_t lost = s["frames_lost"].get<std::uint64_t>();
  const std::uint64_t offered = f["offered"].get<std::uint64_t>() + (s["source"]["kind"] == "udp" ? lost : 0);
  if (lost == 0) {
    fmt::print("larsel run {}: KEPT UP: every one of {} frames decided, none lost\n", s["run"].get<std::uint64_t>(), count(f["decided"].get<std::uint64_t>()));
  } else {
    fmt::print("larsel run {}: DID NOT KEEP UP: lost {} of {} frames ({:.2f} %); see drops below and the capacity line at the start\n",
               s["run"].get<std::uint64_t>(), count(lost), count(offered), offered > 0 ? 100.0 * static_cast<double>(lost) / static_cast<double>(offered) : 0.0);
  }
}

/// A recording that failed: what happened, what was not recorded, what is left to recover.
void print_recording_failure(const ordered_json& s) {
  const auto& r = s["recording"];
  if (!r["failed"].get<bool>()) return;
  fmt::print("  recording   FAILED ({} selected frames not recorded): {}\n", count(s["outputs"]["recorder_write_failed"].get<std::uint64_t>()),
             r["error"].get<std::string>());
  for (const auto& file : r["incomplete_files"]) fmt::print("  incomplete  {} (larsel recover closes it)\n", file.get<std::string>());
}

void print_summary(const ordered_json& s) {
  const auto& f = s["frames"];
  const double seconds = s["seconds"].get<double>();
  const double rate = seconds > 0 ? static_cast<double>(f["decided"].get<std::uint64_t>()) / seconds : 0;
  print_verdict(s);
  fmt::print("  decided     {} frames in {:.1f} s ({:.0f} frames/s = {:.2f} x one face's real-time rate)\n",
             count(f["decided"].get<std::uint64_t>()), seconds, rate, rate / 30517.578);
  fmt::print("  selected    {} ({:.1f}/s), prescaled {}, threshold logit {}\n", count(f["selected"].get<std::uint64_t>()),
             seconds > 0 ? static_cast<double>(f["selected"].get<std::uint64_t>()) / seconds : 0.0, count(f["prescaled"].get<std::uint64_t>()),
             s["threshold_logit"].get<double>());
  fmt::print("  truth       {}\n", truth_line(s["truth"]));
  const auto& l = s["latency_us"];
  fmt::print("  latency     timestamp -> decision p50 {:.0f} us, p99 {:.0f} us; arrival -> decision p50 {:.0f} us, p99 {:.0f} us\n",
             l["timestamp_to_decision"]["p50"].get<double>(), l["timestamp_to_decision"]["p99"].get<double>(),
             l["arrival_to_decision"]["p50"].get<double>(), l["arrival_to_decision"]["p99"].get<double>());
  std::string queues;
  for (const auto& [name, q] : s["queues"].items()) queues += fmt::format("{}{} {}/{}", queues.empty() ? "" : ", ", name, q["max"].dump(), q["capacity"].dump());
  fmt::print("  queues      max depth: {}\n", queues);
  std::string drops;
  std::uint64_t total_drops = 0;
  for (const auto& [name, n] : s["drops"].items()) {
    drops += fmt::format("{}{} {}", drops.empty() ? "" : ", ", name, n.dump());
    total_drops += n.get<std::uint64_t>();
  }
  fmt::print("  drops       {} ({})\n", total_drops == 0 ? "none" : count(total_drops), drops);
  std::string stages;
  for (const auto& [name, t] : s["stage_time_us"].items()) stages += fmt::format("{}{} p50 {:.1f} us", stages.empty() ? "" : ", ", name, t["p50"].get<double>());
  fmt::print("  stage time  {}\n", stages);
  const auto& cpu = s["cpu"];
  fmt::print("  cpu         {:.1f} us per frame in all ({:.1f} in the stages), {:.2f} cores at this rate\n", cpu["process_us_per_frame"].get<double>(),
             cpu["stages_us_per_frame"].get<double>(), cpu["process_us_per_frame"].get<double>() * rate * 1e-6);
  const auto& o = s["outputs"];
  if (!s["publish_endpoint"].get<std::string>().empty()) {
    fmt::print("  published   {}: {} selected frames, {} decision batches, {} metrics messages\n", s["publish_endpoint"].get<std::string>(),
               count(o["selected_published"].get<std::uint64_t>()), count(o["decision_messages"].get<std::uint64_t>()),
               count(o["metrics_messages"].get<std::uint64_t>()));
  }
  for (const auto& file : s["files"]) fmt::print("  file        {}\n", file.get<std::string>());
  if (s["files"].empty() && !s["recording"]["failed"].get<bool>()) fmt::print("  file        none (hdf5.enabled: false, or nothing selected)\n");
  print_recording_failure(s);
}

int run_pipeline(const RunOptions& o) {
  if (o.print_config) {
    fmt::print("{}", o.config_path.empty() ? std::string(pipeline::default_config_yaml()) : pipeline::to_yaml(load_config(o)));
    return 0;
  }
  const pipeline::PipelineConfig config = load_config(o);
  pipeline::Pipeline pipeline(config, LARSEL_VERSION);
  spdlog::info("run {}: {} input, backend {} x{}, threshold logit {}; publishing on {}", config.run_number,
               config.input.kind == pipeline::InputKind::emulator ? "in-process emulator" : "udp", config.model.backend,
               config.model.workers, pipeline.threshold(), pipeline.publish_endpoint().empty() ? "(off)" : pipeline.publish_endpoint());
  const pipeline::CapacityEstimate& capacity = pipeline.capacity();
  if (capacity.keeps_up) spdlog::info("{}", capacity.message);
  else spdlog::warn("{}", capacity.message);
  std::atomic<bool> stop{false};
  SignalStop on_signal(stop);
  const ordered_json summary = pipeline.run(stop);
  if (o.json) fmt::print("{}\n", summary.dump(2));
  else print_summary(summary);
  const std::uint64_t lost = summary["frames_lost"].get<std::uint64_t>();
  if (summary["recording"]["failed"].get<bool>() && config.hdf5.on_write_error == pipeline::OnWriteError::fail_run) {
    std::fflush(stdout);
    throw std::runtime_error(fmt::format("run {}: recording failed (hdf5.on_write_error: fail_run): {}", config.run_number,
                                         summary["recording"]["error"].get<std::string>()));
  }
  if (config.fail_on_loss && lost > 0) {
    std::fflush(stdout);  // the summary before the error line, whatever the streams are
    throw std::runtime_error(fmt::format("run {} lost {} frames (--fail-on-loss / run.fail_on_loss)", config.run_number, lost));
  }
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "The streaming pipeline: frames -> preprocess -> CNN backend -> selection -> ZeroMQ + HDF5, monitored");
  auto o = std::make_shared<RunOptions>();
  cmd->add_option("--config", o->config_path, "YAML overriding the embedded default (see --print-config)")->check(CLI::ExistingFile);
  cmd->add_flag("--print-config", o->print_config, "Print the configuration (every key, commented) and exit");
  cmd->add_option("--seconds", o->seconds, "Override run.seconds (0: until Ctrl-C)")->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--speed", o->speed, "Override input.speed (fraction of the real frame rate)")->check(CLI::Range(1e-4, 100.0));
  cmd->add_option("--out", o->out, "Override hdf5.directory");
  cmd->add_flag("--no-hdf5", o->no_hdf5, "Do not record in-process");
  cmd->add_option("--publish", o->publish, "Override zmq.publish (an endpoint, or 'none')");
  cmd->add_flag("--json", o->json, "Print the run summary as JSON");
  cmd->add_flag("--fail-on-loss", o->fail_on_loss, "Exit with an error (1) if any frame was lost (as run.fail_on_loss: true)");
  cmd->callback([&action, o] { action = [o] { return run_pipeline(*o); }; });
}

}  // namespace larsel::app
