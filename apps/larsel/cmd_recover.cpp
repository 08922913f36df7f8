// larsel recover FILE.h5.writing...: closes the recordings a crashed or failed writer left behind
// (docs/recording.md, "Crashes and write errors").
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "larsel/pipeline/recording_recovery.hpp"

namespace larsel::app {
namespace {

struct RecoverOptions {
  std::vector<std::string> files;
  bool json = false;
};

int run_recover(const RecoverOptions& o) {
  nlohmann::ordered_json reports = nlohmann::json::array();
  for (const auto& file : o.files) {
    const pipeline::RecoveryReport r = pipeline::recover_recording(file);
    const std::uint64_t dropped = r.rows_in_file - r.frames_recovered;
    if (o.json) {
      reports.push_back({{"source", r.source.string()}, {"recovered", r.recovered.string()}, {"rows_in_file", r.rows_in_file},
                         {"frames_recovered", r.frames_recovered}});
    } else {
      fmt::print("recovered {}: {} frames{} (from {}, removed)\n", r.recovered.string(), r.frames_recovered,
                 dropped == 0 ? "" : fmt::format(", {} announced rows unreadable and dropped", dropped), r.source.filename().string());
    }
  }
  if (o.json) fmt::print("{}\n", reports.dump(2));
  return 0;
}

}  // namespace

void add_recover_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<RecoverOptions>();
  CLI::App* cmd = app.add_subcommand(
      "recover", "Close recordings left as *.h5.writing by a crash (SIGKILL, power cut) or a write error: copy every readable frame "
                 "into NAME.h5 (fsynced, then renamed) and remove the *.writing");
  cmd->add_option("files", o->files, "*.h5.writing files")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", o->json, "Print a JSON array of reports");
  cmd->callback([&action, o] { action = [o] { return run_recover(*o); }; });
}

}  // namespace larsel::app
