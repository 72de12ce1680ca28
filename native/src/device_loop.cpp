// Training that stays on the device (the C# side is Training/DeviceLoopTraining.cs): the rows are uploaded once, and
// each batch is gathered, binarised and given its noise on the device by the counter-based generator, then trained
// with the same step as vae_model_train_step. Nothing is read back until a report: the bounds are summed on the device.
// The step (train_step) takes everything that changes per batch from device tensors it advances itself, so that
// step_graph.cpp can capture it once per batch shape and replay it.

#include "shim.h"

#include <cmath>

namespace vae {

namespace {

DeviceLoop& open(vae_model& m) {
  require(m.loop != nullptr, "no device loop is open: call vae_loop_open first");
  return *m.loop;
}

StepShape step_shape(int64_t rows, int64_t f, int64_t k, int64_t d, const torch::TensorOptions& floats,
                     const torch::TensorOptions& indices) {
  StepShape shape;
  shape.rows = rows;
  shape.offsets = torch::arange(rows, indices);
  shape.batch = torch::empty({rows, f}, floats);
  shape.noise = torch::empty({rows, k, d}, floats);
  shape.feature_index = torch::arange(rows * f, indices).unsqueeze(0);
  shape.noise_index = torch::arange(rows * k * d, indices).unsqueeze(0);
  return shape;
}

}  // namespace

void open_loop(vae_model& m, const vae_loop_settings& s) {
  const auto& n = m.network;
  require(!n.categorical(), "the device loop trains Gaussian latents only; train categorical latents with the host loop");
  require(s.rows >= 1 && s.batch_size >= 1 && s.samples >= 1, "rows, batch_size and samples must be at least 1");
  require(s.rows < (int64_t{1} << 31), "the device loop holds at most 2^31 - 1 rows (got " + std::to_string(s.rows) + ")");
  require(!s.dynamic_binarization || n.decoder == VAE_DECODER_BERNOULLI, "dynamic binarisation needs the Bernoulli decoder");
  auto objective = checked_objective(m, &s.objective, s.samples);
  require(objective.estimator != VAE_ESTIMATOR_SCORE_FUNCTION,
          "the device loop does not run the score-function estimator (its baseline is a running mean on the host)");
  require(std::isnan(objective.score_baseline), "score_baseline must be NaN in the device loop");
  require(s.learning_rate > 0 && s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1 && s.epsilon > 0,
          "the Adam settings are out of range");
  m.loop.reset();  // frees an earlier loop's rows and graphs before allocating these
  int64_t b = std::min<int64_t>(s.batch_size, s.rows), k = s.samples, f = n.input_size, d = n.latent_size;
  auto floats = m.parameters.options().requires_grad(false);
  auto indices = torch::TensorOptions().dtype(torch::kInt64).device(m.device);
  auto loop = std::make_unique<DeviceLoop>();
  loop->settings = s;
  loop->settings.batch_size = static_cast<int32_t>(b);
  loop->objective = objective;
  loop->graphs = step_graphs_enabled(m.device);
  loop->data = torch::empty({s.rows, f}, floats);
  loop->order = torch::arange(s.rows, indices);
  loop->step = torch::ones({}, indices);
  loop->position = torch::zeros({}, indices);
  loop->bound_sum = torch::zeros({}, floats.dtype(torch::kFloat64));
  loop->full = step_shape(b, f, k, d, floats, indices);
  if (s.rows % b != 0) loop->short_batch = std::make_unique<StepShape>(step_shape(s.rows % b, f, k, d, floats, indices));
  m.loop = std::move(loop);
}

void upload_rows(vae_model& m, int64_t first_row, const float* rows, int64_t count) {
  auto& loop = open(m);
  require(rows != nullptr, "rows is null");
  require(first_row >= 0 && count >= 1 && first_row + count <= loop.settings.rows,
          "rows [" + std::to_string(first_row) + ", " + std::to_string(first_row + count) + ") lie outside the " +
              std::to_string(loop.settings.rows) + " training rows");
  auto source = torch::from_blob(const_cast<float*>(rows), {count, m.network.input_size}, torch::kFloat32);
  loop.data.narrow(0, first_row, count).copy_(source);
}

void shuffle_rows(vae_model& m, int64_t epoch) {
  auto& loop = open(m);
  const auto& s = loop.settings;
  // In place: a captured step reads the order where it was at capture.
  loop.order.copy_(counter_permutation(counter_key(s.seed, s.shuffle_stream, epoch), s.rows, m.device));
}

// The loop and the shape come in const: the step changes tensors' contents only, never the host's bookkeeping.
void train_step(vae_model& m, const DeviceLoop& loop, const StepShape& shape) {
  const auto& s = loop.settings;
  int64_t rows = shape.rows, k = s.samples, f = m.network.input_size, d = m.network.latent_size;
  {
    torch::NoGradGuard no_grad;
    auto picked = torch::index_select(loop.order, 0, shape.offsets + loop.position);
    auto batch = shape.batch;  // a handle of the same storage, for index_select_out's non-const output
    torch::index_select_out(batch, loop.data, 0, picked);
    auto counter = loop.step.view({1});
    if (s.dynamic_binarization) {
      auto [key_a, key_b] = counter_keys(s.seed, s.binarization_stream, counter);
      auto uniforms = counter_uniform(counter_bits(key_a, key_b, shape.feature_index)).view({rows, f});
      shape.batch.copy_(uniforms.lt(shape.batch));
    }
    auto [key_a, key_b] = counter_keys(s.seed, s.noise_stream, counter);
    shape.noise.copy_(counter_normal(counter_bits(key_a, key_b, shape.noise_index)).view({rows, k, d}));
  }
  auto [bounds, gradient] = bounds_and_gradient(m, shape.batch, shape.noise, loop.objective);
  adam_step(m, gradient, AdamRates{s.learning_rate, s.beta1, s.beta2, s.epsilon}, loop.step);
  torch::NoGradGuard no_grad;
  loop.bound_sum.add_(bounds.sum(0, /*keepdim=*/false, torch::kFloat64));
  loop.step.add_(1);
  loop.position.add_(rows);
}

vae_loop_report run_batches(vae_model& m, int64_t first_batch, int32_t batch_count, int64_t first_step,
                            bool check_last_update) {
  auto& loop = open(m);
  const auto& s = loop.settings;
  int64_t b = s.batch_size, k = s.samples;
  int64_t full_batches = s.rows / b, batches = full_batches + (loop.short_batch ? 1 : 0);
  require(first_batch >= 0 && batch_count >= 1 && first_batch + batch_count <= batches,
          "batches [" + std::to_string(first_batch) + ", " + std::to_string(first_batch + batch_count) +
              ") lie outside the epoch's " + std::to_string(batches));
  require(first_step >= 1, "the Adam step count starts at 1 (got " + std::to_string(first_step) + ")");
  {
    torch::NoGradGuard no_grad;
    loop.step.fill_(first_step);
    loop.position.fill_(first_batch * b);
  }
  vae_loop_report report{};
  for (int64_t batch = first_batch; batch < first_batch + batch_count; batch++) {
    auto& shape = batch < full_batches ? loop.full : *loop.short_batch;
    run_step(m, loop, shape);
    loop.last_run = &shape;
    report.rows += shape.rows;
  }
  parameters_changed(m);
  // One read-back: the bound sum, the parameter sum and, when asked, the last batch's bounds after its update.
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> results{loop.bound_sum, m.parameters.sum(0, false, torch::kFloat64)};
  if (check_last_update) {
    const auto& last = *loop.last_run;
    auto bounds = torch::logsumexp(log_weights(m, last.batch, last.noise), {1}) - std::log(static_cast<double>(k));
    results.push_back(bounds.sum(0, false, torch::kFloat64));
  }
  auto values = torch::stack(results).cpu();
  const double* read = values.data_ptr<double>();
  report.bound_sum = read[0];
  report.parameter_sum = read[1];
  report.last_batch_bound_sum = check_last_update ? read[2] : 0.0;
  loop.bound_sum.zero_();
  return report;
}

}  // namespace vae
