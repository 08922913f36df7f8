#include "larsel/pipeline/pipeline.hpp"

#include <time.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "frame_source.hpp"
#include "larsel/core/data_path.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/core/hashing.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "selector.hpp"

namespace larsel::pipeline {
namespace {

std::size_t slots_for(const PipelineConfig& c) {
  // Enough to fill every queue, plus one frame in the hands of each thread.
  return c.input_queue_capacity + 2 * std::size_t{c.stage_queue_capacity} * c.model.workers + c.model.workers + 4;
}

std::uint64_t unix_ns() { return static_cast<std::uint64_t>(unix_now_ns()); }

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// The CPU time each pipeline thread used, by its name, collected as the threads end.
struct ThreadCpu {
  std::mutex mutex;
  std::vector<std::pair<std::string, double>> seconds;
  void add_calling_thread() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    const double used = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    const std::lock_guard lock(mutex);
    seconds.emplace_back(name, used);
  }
};

/// Runs `body` on a new thread; an exception is kept in `error` (first one wins), and either way `done` is set
/// and the consumers of `downstream` woken to see it; the thread's CPU time goes into `cpu`.
std::thread guarded_thread(std::exception_ptr& error, std::mutex& error_mutex, ThreadCpu& cpu, std::atomic<bool>* done,
                           std::vector<FrameQueue*> downstream, std::function<void()> body) {
  return std::thread([&error, &error_mutex, &cpu, done, downstream = std::move(downstream), body = std::move(body)] {
    try {
      body();
    } catch (...) {
      const std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
    }
    cpu.add_calling_thread();
    if (done != nullptr) done->store(true, std::memory_order_release);
    for (FrameQueue* q : downstream) q->signal();
  });
}

/// CPU per decided frame: the whole process's, each pipeline thread's, the rest (recording, ZeroMQ's I/O thread,
/// the main thread), next to the sum of the stages' own times: the difference is what the pipeline spends on
/// itself (waiting, queues, metrics) and on the source.
nlohmann::ordered_json cpu_summary(const ThreadCpu& threads, double process_seconds, const nlohmann::ordered_json& summary) {
  const double frames = std::max(1.0, static_cast<double>(summary["frames"]["decided"].get<std::uint64_t>()));
  nlohmann::ordered_json j;
  j["process_us_per_frame"] = process_seconds * 1e6 / frames;
  double in_threads = 0;
  for (const auto& [name, seconds] : threads.seconds) {
    j["threads_us_per_frame"][name] = seconds * 1e6 / frames;
    in_threads += seconds;
  }
  j["threads_us_per_frame"]["other: recording, ZeroMQ I/O, main"] = std::max(0.0, process_seconds - in_threads) * 1e6 / frames;
  double stages = 0;
  for (const auto& [stage, t] : summary["stage_time_us"].items()) stages += t["mean"].get<double>();
  j["stages_us_per_frame"] = stages;
  j["pipeline_overhead_us_per_frame"] = process_seconds * 1e6 / frames - stages;
  return j;
}

}  // namespace

struct Pipeline::Impl {
  PipelineConfig config;
  std::string model_path;
  models::ModelFile model;
  double threshold = 0;
  wire::RunInfo run_info;
  PipelineMetrics metrics;
  std::unique_ptr<FrameSource> source;  // before the slots: udp slots hold frames of its pool
  SlotPool slots;
  FrameQueue free_slots, preprocess_in;
  WorkerQueues workers;
  std::vector<preprocess::Preprocessor> preprocessors;
  std::vector<std::unique_ptr<fpga::InferenceBackend>> backends;
  std::unique_ptr<Publisher> publisher;
  std::unique_ptr<RecorderStage> recorder;
  CapacityEstimate capacity;

  Impl(const PipelineConfig& c, const std::string& version);
  void make_queues();
  void make_stages();
  [[nodiscard]] nlohmann::ordered_json summary(nlohmann::ordered_json s, double seconds, const RecorderReport& recording, const ThreadCpu& cpu,
                                               double process_cpu) const;
};

Pipeline::Impl::Impl(const PipelineConfig& c, const std::string& version)
    : config(c),
      model_path(core::find_data_file(c.model.file).string()),
      model(models::load_model(model_path)),
      threshold(selection_threshold(c.selection, model, model_path)),
      metrics(c.model.workers),
      slots(slots_for(c), model.model.input_shape().size()),
      free_slots("free_slots", slots_for(c)),
      preprocess_in("preprocess_in", c.input_queue_capacity) {
  run_info = {c.run_number, 0, to_yaml(c), model_path, core::sha256_file_hex(model_path), threshold, c.selection.prescale, version};
  make_queues();
  make_stages();
  capacity = estimate_capacity(c, model, *backends.front());
  const RunLimits limits{c.seconds, c.frames};
  source = c.input.kind == InputKind::emulator ? make_emulated_source(c.input, limits) : make_udp_source(c.input, limits, slots.size());
}

void Pipeline::Impl::make_queues() {
  for (std::uint32_t i = 0; i < slots.size(); ++i) free_slots.push(i);
  metrics.queues.push_back(&preprocess_in);
  workers.done = std::make_unique<std::atomic<bool>[]>(config.model.workers);
  for (unsigned w = 0; w < config.model.workers; ++w) {
    workers.in.push_back(std::make_unique<FrameQueue>(fmt::format("inference_in_{}", w), config.stage_queue_capacity));
    workers.out.push_back(std::make_unique<FrameQueue>(fmt::format("inference_out_{}", w), config.stage_queue_capacity));
  }
  for (const auto& q : workers.in) metrics.queues.push_back(q.get());
  for (const auto& q : workers.out) metrics.queues.push_back(q.get());
}

void Pipeline::Impl::make_stages() {
  const preprocess::PreprocessConfig pre = model_preprocess_config(model, model_path);
  for (unsigned f = 0; f < config.input.faces; ++f) preprocessors.emplace_back(pre);
  fpga::BackendOptions options;
  options.kind = config.model.backend;
  options.hls_project = config.model.hls_project;
  options.xclbin = config.model.xclbin;
  options.device_index = config.model.device;
  options.batch_frames = 1;
  for (unsigned w = 0; w < config.model.workers; ++w) backends.push_back(fpga::make_backend(options, model.model));
  publisher = std::make_unique<Publisher>(config.zmq, config.run_number, metrics.output);
  if (config.hdf5.enabled) {
    recorder = std::make_unique<RecorderStage>(config.hdf5, run_info, config.recorder_queue_capacity, metrics.output);
    metrics.recorder_queue = &recorder->occupancy();
  }
}

Pipeline::Pipeline(const PipelineConfig& config, const std::string& software_version)
    : impl_(std::make_unique<Impl>(config, software_version)) {}

Pipeline::~Pipeline() = default;

std::string Pipeline::publish_endpoint() const { return impl_->publisher->publish_endpoint(); }
double Pipeline::threshold() const { return impl_->threshold; }
const CapacityEstimate& Pipeline::capacity() const { return impl_->capacity; }

std::uint64_t frames_lost(const nlohmann::ordered_json& s) {
  std::uint64_t lost = s["drops"]["source_no_free_slot"].get<std::uint64_t>() + s["drops"]["source_queue_full"].get<std::uint64_t>();
  if (s["source"]["kind"] != "udp") return lost;
  const auto& r = s["source"]["receiver"];
  const std::uint64_t complete = r["frames_complete"].get<std::uint64_t>(), incomplete = r["frames_incomplete"].get<std::uint64_t>();
  lost += incomplete;  // decided, but with streams missing
  if (!s["source"].contains("emulator")) {  // an external sender: the periods the receiver knows it missed
    return lost + r["frames_without_data"].get<std::uint64_t>() + r["periods_skipped"].get<std::uint64_t>();
  }
  const std::uint64_t sent = s["source"]["emulator"]["periods_sent"].get<std::uint64_t>();  // every period the sender sent
  return lost + (sent > complete + incomplete ? sent - complete - incomplete : 0);
}

namespace {

/// Stops the source when the caller asks (a signal) or when the recorder says a write error must end the run.
class StopRelay {
 public:
  StopRelay(const std::atomic<bool>& requested, const RecorderStage* recorder)
      : thread_([this, &requested, recorder] {
          while (!done_.load(std::memory_order_acquire)) {
            if (requested.load() || (recorder != nullptr && recorder->run_must_stop())) stop_.store(true);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        }) {}
  ~StopRelay() {
    done_.store(true, std::memory_order_release);
    thread_.join();
  }
  StopRelay(const StopRelay&) = delete;
  StopRelay& operator=(const StopRelay&) = delete;
  [[nodiscard]] const std::atomic<bool>& stop() const { return stop_; }

 private:
  std::atomic<bool> stop_{false}, done_{false};
  std::thread thread_;  // last: starts once the flags exist
};

nlohmann::ordered_json recording_json(const PipelineConfig& config, const RecorderReport& report) {
  nlohmann::ordered_json incomplete = nlohmann::json::array();
  for (const auto& f : report.incomplete_files) incomplete.push_back(f.string());
  return {{"enabled", config.hdf5.enabled},
          {"failed", !report.error.empty()},
          {"error", report.error},
          {"on_write_error", config.hdf5.on_write_error == OnWriteError::fail_run ? "fail_run" : "stop_recording"},
          {"incomplete_files", incomplete}};
}

}  // namespace

nlohmann::ordered_json Pipeline::run(const std::atomic<bool>& stop_requested) {
  Impl& p = *impl_;
  if (p.config.zmq.wait_for_subscribers > 0) {
    const auto seen = p.publisher->wait_for_subscribers(p.config.zmq.wait_for_subscribers, std::chrono::duration<double>(p.config.zmq.wait_timeout_s), stop_requested);
    spdlog::info("{} of {} subscriptions present; taking data", seen, p.config.zmq.wait_for_subscribers);
  }
  p.run_info.start_time_unix_ns = unix_ns();
  const auto start = SteadyClock::now();
  std::exception_ptr error;
  std::mutex error_mutex;
  std::atomic<bool> source_done{false}, preprocess_done{false};
  SelectionSettings settings{p.threshold, p.config.selection.prescale, p.config.metrics_interval_s, p.config.log_metrics, p.run_info};
  Selector selector(settings, p.slots, p.workers, p.free_slots, *p.publisher, p.recorder.get(), p.metrics, *p.source);
  if (p.recorder) {
    p.recorder->set_run_info(p.run_info);
    p.recorder->start();
  }
  ThreadCpu cpu;
  const double process_cpu_start = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  {
    const StopRelay relay(stop_requested, p.recorder.get());
    std::vector<std::thread> threads;
    threads.push_back(guarded_thread(error, error_mutex, cpu, nullptr, {}, [&] { selector.run(); }));
    for (unsigned w = 0; w < p.config.model.workers; ++w) {
      threads.push_back(guarded_thread(error, error_mutex, cpu, &p.workers.done[w], {p.workers.out[w].get()}, [&, w] {
        run_inference_worker(w, preprocess_done, *p.backends[w], p.slots, p.workers, p.metrics);
      }));
    }
    std::vector<FrameQueue*> worker_inputs;
    for (const auto& q : p.workers.in) worker_inputs.push_back(q.get());
    threads.push_back(guarded_thread(error, error_mutex, cpu, &preprocess_done, worker_inputs, [&] {
      run_preprocess_stage(p.preprocess_in, source_done, p.preprocessors, p.slots, p.workers, p.metrics, preprocess_done);
    }));
    const SourceOutput output{p.slots, p.free_slots, p.preprocess_in, p.metrics.source, p.config.input.max_rate};
    threads.push_back(guarded_thread(error, error_mutex, cpu, &source_done, {&p.preprocess_in}, [&] { p.source->run(relay.stop(), output); }));
    for (auto it = threads.rbegin(); it != threads.rend(); ++it) it->join();  // source first, selector last
  }
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  const RecorderReport recording = p.recorder ? p.recorder->finish() : RecorderReport{};
  const double process_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu_start;
  if (error) std::rethrow_exception(error);
  p.publisher->publish_metrics(selector.metrics_now(false));  // the final snapshot, counted in the summary
  return p.summary(selector.metrics_now(false), seconds, recording, cpu, process_cpu);
}

nlohmann::ordered_json Pipeline::Impl::summary(nlohmann::ordered_json s, double seconds, const RecorderReport& recording, const ThreadCpu& cpu,
                                               double process_cpu) const {
  s["run"] = config.run_number;
  s["seconds"] = seconds;
  s["threshold_logit"] = threshold;
  s["model"] = {{"file", model_path}, {"sha256", run_info.model_hash}, {"backend", config.model.backend}, {"workers", config.model.workers}};
  s["source"] = source->report();
  s["publish_endpoint"] = publisher->publish_endpoint();
  nlohmann::ordered_json names = nlohmann::json::array();
  for (const auto& f : recording.files) names.push_back(f.string());
  s["files"] = names;
  s["recording"] = recording_json(config, recording);
  s["cpu"] = cpu_summary(cpu, process_cpu, s);
  s["capacity"] = capacity.to_json();
  s["frames_lost"] = frames_lost(s);
  return s;
}

}  // namespace larsel::pipeline
