// larsel simulate: placeholder until the physics simulation lands.
#include "commands.hpp"

namespace larsel::app {
void add_simulate_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("simulate", "Write a labelled simulated data set (HDF5)");
  cmd->callback([&action] { action = [] { return 1; }; });
}
}  // namespace larsel::app
