// larsel display: placeholder until the event display lands.
#include "commands.hpp"

namespace larsel::app {
void add_display_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("display", "Event display of simulated frames (PNG)");
  cmd->callback([&action] { action = [] { return 1; }; });
}
}  // namespace larsel::app
