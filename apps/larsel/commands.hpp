#pragma once
// Subcommands of the larsel executable. Each add_* registers its options on
// `app` and, when selected, stores the work to run after parsing in `action`
// (which returns the process exit code).
#include <functional>

#include <CLI/CLI.hpp>

namespace larsel::app {

using Action = std::function<int()>;

void add_wibeth_command(CLI::App& app, Action& action);
void add_emulate_command(CLI::App& app, Action& action);
void add_receive_command(CLI::App& app, Action& action);
void add_demo_command(CLI::App& app, Action& action);
void add_bench_command(CLI::App& app, Action& action);
void add_simulate_command(CLI::App& app, Action& action);
void add_display_command(CLI::App& app, Action& action);
void add_preprocess_command(CLI::App& app, Action& action);
void add_train_command(CLI::App& app, Action& action);
void add_eval_command(CLI::App& app, Action& action);
void add_export_onnx_command(CLI::App& app, Action& action);
void add_inspect_command(CLI::App& app, Action& action);
void add_compress_command(CLI::App& app, Action& action);
void add_tradeoff_command(CLI::App& app, Action& action);
void add_export_hls_command(CLI::App& app, Action& action);
void add_score_command(CLI::App& app, Action& action);
void add_run_command(CLI::App& app, Action& action);
void add_listen_command(CLI::App& app, Action& action);
void add_record_command(CLI::App& app, Action& action);
void add_recover_command(CLI::App& app, Action& action);

}  // namespace larsel::app
