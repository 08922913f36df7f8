#include "recorder_stage.hpp"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "thread_support.hpp"

namespace larsel::pipeline {

RecorderStage::RecorderStage(const RecordingConfig& config, const wire::RunInfo& run, std::size_t queue_frames, OutputMetrics& metrics)
    : writer_(config, run),
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

void RecorderStage::run() noexcept {
  prepare_pipeline_thread("larsel-record");
  auto last_flush = SteadyClock::now();
  const auto write_one = [this](const Item& item) { writer_.append(item.header, item.adc); };
  try {
    for (;;) {
      const std::uint32_t seen = pushed_.epoch();
      if (queue_->consume_one(write_one)) {
        metrics_.recorder_frames_written.add();
        continue;
      }
      if (done_.load(std::memory_order_acquire)) {
        if (queue_->consume_one(write_one)) {
          metrics_.recorder_frames_written.add();
          continue;
        }
        break;
      }
      if (SteadyClock::now() - last_flush > std::chrono::seconds(1)) {
        writer_.flush();
        last_flush = SteadyClock::now();
      }
      pushed_.wait(seen, std::chrono::milliseconds(100));  // selected frames are rare; flush once a second
    }
  } catch (...) {
    error_ = std::current_exception();
  }
}

std::vector<std::filesystem::path> RecorderStage::finish() {
  done_.store(true, std::memory_order_release);
  pushed_.wake();
  if (thread_.joinable()) thread_.join();
  if (error_) {
    auto error = error_;
    error_ = nullptr;
    std::rethrow_exception(error);
  }
  writer_.close();
  return writer_.files();
}

}  // namespace larsel::pipeline
