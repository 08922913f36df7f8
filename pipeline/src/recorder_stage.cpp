#include "recorder_stage.hpp"

#include <algorithm>
#include <cstring>
#include <exception>

#include <spdlog/spdlog.h>

#include "thread_support.hpp"

namespace larsel::pipeline {

RecorderStage::RecorderStage(const Hdf5OutputConfig& config, const wire::RunInfo& run, std::size_t queue_frames, OutputMetrics& metrics)
    : writer_(config.recording, run),
      fail_run_(config.on_write_error == OnWriteError::fail_run),
      queue_(std::make_unique<boost::lockfree::spsc_queue<Item>>(queue_frames)),
      occupancy_(queue_frames),
      metrics_(metrics),
      staging_(std::make_unique<Item>()) {}

RecorderStage::~RecorderStage() {
  try {
    finish();
  } catch (const std::exception& e) {
    spdlog::error("recorder: {}", e.what());
  }
}

void RecorderStage::start() { thread_ = std::thread([this] { run(); }); }

bool RecorderStage::offer(const wire::FrameHeader& header, std::span<const std::uint16_t> adc) noexcept {
  staging_->header = header;
  std::copy_n(adc.begin(), std::min(adc.size(), staging_->adc.size()), staging_->adc.begin());
  if (!queue_->push(*staging_)) {
    metrics_.recorder_dropped_queue_full.add();
    return false;
  }
  occupancy_.record(occupancy_.capacity() - queue_->write_available());
  metrics_.recorder_queued.add();
  pushed_.wake();
  return true;
}

void RecorderStage::sync_counters() {
  const RecordingStats& stats = writer_.stats();
  metrics_.recorder_frames_written.add(stats.frames_written - written_seen_);
  metrics_.recorder_write_failed.add(stats.frames_lost - lost_seen_);
  written_seen_ = stats.frames_written;
  lost_seen_ = stats.frames_lost;
}

template <typename Call>
void RecorderStage::attempt(Call&& call) {
  try {
    call();
  } catch (const std::exception& e) {
    error_ = e.what();
    spdlog::error("recording failed: {}. {}", error_,
                  fail_run_ ? "The run stops (hdf5.on_write_error: fail_run)."
                            : "Recording stops; the run goes on deciding and publishing, and counts the selected frames not recorded "
                              "in recorder_write_failed (hdf5.on_write_error: stop_recording).");
    failed_.store(true, std::memory_order_release);
  }
  sync_counters();
}

void RecorderStage::record(const Item& item) {
  if (failed_.load(std::memory_order_relaxed)) {
    metrics_.recorder_write_failed.add();
    return;
  }
  attempt([&] { writer_.append(item.header, item.adc); });
}

void RecorderStage::run() noexcept {
  prepare_pipeline_thread("larsel-record");
  auto last_flush = SteadyClock::now();
  const auto write_one = [this](const Item& item) { record(item); };
  try {
    for (;;) {
      const std::uint32_t seen = pushed_.epoch();
      if (queue_->consume_one(write_one)) continue;
      if (done_.load(std::memory_order_acquire)) {
        if (queue_->consume_one(write_one)) continue;
        break;
      }
      if (SteadyClock::now() - last_flush > std::chrono::seconds(1)) {
        if (!failed_.load(std::memory_order_relaxed)) attempt([this] { writer_.flush(); });
        last_flush = SteadyClock::now();
      }
      pushed_.wait(seen, std::chrono::milliseconds(100));  // selected frames are rare; flush once a second
    }
  } catch (const std::exception& e) {  // not from the writer (attempt() holds those): a bug, said loudly
    error_ = e.what();
    spdlog::critical("recorder thread: {}", error_);
    failed_.store(true, std::memory_order_release);
  }
}

RecorderReport RecorderStage::finish() {
  done_.store(true, std::memory_order_release);
  pushed_.wake();
  if (thread_.joinable()) thread_.join();
  if (!failed_.load(std::memory_order_acquire)) attempt([this] { writer_.close(); });
  return {writer_.files(), writer_.abandoned_files(), error_};
}

}  // namespace larsel::pipeline
