#include "larsel/models/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "larsel/models/metrics.hpp"

namespace larsel::models {
namespace {

constexpr int kShards = 2;

/// One shard's forward and backward: gradients land in the replica, scaled by
/// the shard's share of the batch so the sum over shards is the batch mean.
struct Shard {
  Model* model = nullptr;
  const StageHooks* hooks = nullptr;
  Batch input;
  std::vector<float> labels, gradients, teacher;
  Batch grad_output;
  double loss = 0;

  void run(const ImageSet& set, std::span<const std::size_t> indices, double share, const ClassWeights& weights) {
    Network& network = model->network();
    network.zero_gradients();
    if (indices.empty()) return void(loss = 0);
    fill_batch(set, indices, model->architecture().input_scale, input);
    labels.resize(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) labels[i] = static_cast<float>(set.labels[indices[i]]);
    const Batch& logits = network.forward(input, true);
    gradients.resize(indices.size());
    if (hooks->teacher_logits.empty()) {
      loss = binary_cross_entropy(logits.values, labels, weights, gradients) * share;
    } else {
      teacher.resize(indices.size());
      for (std::size_t i = 0; i < indices.size(); ++i) teacher[i] = hooks->teacher_logits[indices[i]];
      loss = distillation_loss(logits.values, teacher, labels, weights, hooks->distillation, gradients) * share;
    }
    grad_output.reshape(logits.count, logits.shape);
    for (std::size_t i = 0; i < gradients.size(); ++i) grad_output.values[i] = gradients[i] * static_cast<float>(share);
    network.backward(grad_output);
  }
};

/// Adds every shard's parameter gradients into the first shard's.
void reduce_gradients(std::vector<Shard>& shards) {
  std::vector<Parameter> target = shards[0].model->network().parameters();
  for (std::size_t s = 1; s < shards.size(); ++s) {
    const std::vector<Parameter> source = shards[s].model->network().parameters();
    for (std::size_t p = 0; p < target.size(); ++p) {
      FloatBuffer& into = *target[p].gradients;
      const FloatBuffer& from = *source[p].gradients;
      for (std::size_t i = 0; i < into.size(); ++i) into[i] += from[i];
    }
  }
}

/// Copies the trained parameters of the first shard's model to the others (buffers stay per shard).
void broadcast_parameters(std::vector<Shard>& shards) {
  const std::vector<Parameter> source = shards[0].model->network().parameters();
  for (std::size_t s = 1; s < shards.size(); ++s) {
    const std::vector<Parameter> target = shards[s].model->network().parameters();
    for (std::size_t p = 0; p < source.size(); ++p) *target[p].values = *source[p].values;
  }
}

double run_epoch(std::vector<Shard>& shards, Adam& adam, const ImageSet& set, std::span<const std::size_t> order,
                 const TrainingConfig& config, int epoch, const TrainingCallbacks& callbacks, long& step) {
  const StageHooks& hooks = *shards[0].hooks;
  const std::size_t batch = static_cast<std::size_t>(config.batch_size);
  const std::size_t batches = (order.size() + batch - 1) / batch;
  double loss_sum = 0;
  for (std::size_t b = 0; b < batches; ++b) {
    const std::span<const std::size_t> indices = order.subspan(b * batch, std::min(batch, order.size() - b * batch));
    const auto shard_indices = [&](std::size_t s) {
      return indices.subspan(indices.size() * s / kShards, indices.size() * (s + 1) / kShards - indices.size() * s / kShards);
    };
    const auto run_shard = [&](std::size_t s) {
      const auto mine = shard_indices(s);
      shards[s].run(set, mine, static_cast<double>(mine.size()) / static_cast<double>(indices.size()), config.class_weights);
    };
    if (config.threads >= 2) {
      std::exception_ptr helper_failure;
      {
        std::jthread helper([&] {
          try {
            run_shard(1);
          } catch (...) {
            helper_failure = std::current_exception();
          }
        });
        run_shard(0);
      }
      if (helper_failure) std::rethrow_exception(helper_failure);
    } else {
      for (std::size_t s = 0; s < kShards; ++s) run_shard(s);
    }
    reduce_gradients(shards);
    if (hooks.extra_loss) loss_sum += hooks.extra_loss(*shards[0].model);
    adam.step();
    if (hooks.after_step) hooks.after_step(++step, *shards[0].model);
    broadcast_parameters(shards);
    for (const Shard& s : shards) loss_sum += s.loss;
    if (callbacks.batch_done) callbacks.batch_done(epoch, b + 1, batches, loss_sum / static_cast<double>(b + 1));
  }
  return batches ? loss_sum / static_cast<double>(batches) : 0.0;
}

}  // namespace

std::pair<double, double> validation_metrics(Model& model, const ImageSet& set, std::span<const std::size_t> indices,
                                             const TrainingConfig& config) {
  const std::vector<float> logits = model.logits(set, indices, config.threads);
  std::vector<float> labels(indices.size()), signal, background;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    labels[i] = static_cast<float>(set.labels[indices[i]]);
    (set.labels[indices[i]] ? signal : background).push_back(logits[i]);
  }
  const double loss = binary_cross_entropy(logits, labels, config.class_weights);
  return {loss, working_point(signal, background, config.validation_acceptance).signal.value};
}

TrainingResult train(Model& model, const ImageSet& set, std::span<const std::size_t> train_indices,
                     std::span<const std::size_t> validation, const TrainingConfig& config, const TrainingCallbacks& callbacks,
                     const StageHooks& hooks) {
  if (!hooks.teacher_logits.empty() && hooks.teacher_logits.size() != set.size()) {
    throw std::invalid_argument(fmt::format("training: {} teacher logits for {} images", hooks.teacher_logits.size(), set.size()));
  }
  const auto start = std::chrono::steady_clock::now();
  Model second = model.clone();
  std::vector<Shard> shards(kShards);
  shards[0].model = &model;
  shards[1].model = &second;
  for (Shard& shard : shards) shard.hooks = &hooks;
  long step = 0;
  Adam adam(model.network().parameters(), config.adam);
  std::mt19937_64 rng(config.seed);
  std::vector<std::size_t> order(train_indices.begin(), train_indices.end());
  TrainingResult result;
  Model best = model.clone();
  double best_loss = std::numeric_limits<double>::infinity();
  for (int epoch = 1; epoch <= config.max_epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    std::shuffle(order.begin(), order.end(), rng);
    if (hooks.before_epoch) {
      for (Shard& shard : shards) hooks.before_epoch(epoch, *shard.model);
    }
    EpochRecord record;
    record.epoch = epoch;
    record.train_loss = run_epoch(shards, adam, set, order, config, epoch, callbacks, step);
    std::tie(record.validation_loss, record.validation_efficiency) = validation_metrics(model, set, validation, config);
    if (!std::isfinite(record.train_loss) || !std::isfinite(record.validation_loss)) {
      throw std::runtime_error(fmt::format("training diverged in epoch {} (train loss {}, validation loss {}): lower "
                                           "training.learning_rate", epoch, record.train_loss, record.validation_loss));
    }
    record.improved = hooks.keep_best ? record.validation_loss < best_loss : true;
    if (record.improved) {
      best_loss = record.validation_loss;
      result.best_epoch = epoch;
      best.copy_state_from(model);
    }
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    result.epochs.push_back(record);
    if (callbacks.epoch_done) callbacks.epoch_done(record);
    if (hooks.keep_best && epoch - result.best_epoch >= config.patience) {
      result.stopped_early = epoch < config.max_epochs;
      break;
    }
  }
  model.copy_state_from(best);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace larsel::models
