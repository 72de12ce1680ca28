// Training that stays on the device (the C# side is Training/DeviceLoopTraining.cs): the rows are uploaded once, and
// each batch is gathered, binarised and given its noise on the device by the counter-based generator, then trained
// with the same step as vae_model_train_step. Nothing is read back until a report: the bounds are summed on the device.

#include "shim.h"

#include <cmath>

namespace vae {

namespace {

DeviceLoop& open(vae_model& m) {
  require(m.loop != nullptr, "no device loop is open: call vae_loop_open first");
  return *m.loop;
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
  m.loop.reset();  // frees an earlier loop's rows before allocating these
  int64_t b = std::min<int64_t>(s.batch_size, s.rows), k = s.samples, f = n.input_size, d = n.latent_size;
  auto floats = m.parameters.options().requires_grad(false);
  auto indices = torch::TensorOptions().dtype(torch::kInt64).device(m.device);
  auto loop = std::make_unique<DeviceLoop>();
  loop->settings = s;
  loop->settings.batch_size = static_cast<int32_t>(b);
  loop->objective = objective;
  loop->data = torch::empty({s.rows, f}, floats);
  loop->order = torch::arange(s.rows, indices);
  loop->batch = torch::empty({b, f}, floats);
  loop->noise = torch::empty({b, k, d}, floats);
  loop->feature_index = torch::arange(b * f, indices);
  loop->noise_index = torch::arange(b * k * d, indices);
  loop->bound_sum = torch::zeros({}, floats.dtype(torch::kFloat64));
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
  loop.order = counter_permutation(counter_key(s.seed, s.shuffle_stream, epoch), s.rows, m.device);
}

vae_loop_report run_batches(vae_model& m, int64_t first_batch, int32_t batch_count, int64_t first_step,
                            bool check_last_update) {
  auto& loop = open(m);
  const auto& s = loop.settings;
  int64_t b = s.batch_size, k = s.samples, f = m.network.input_size, d = m.network.latent_size;
  int64_t batches = (s.rows + b - 1) / b;
  require(first_batch >= 0 && batch_count >= 1 && first_batch + batch_count <= batches,
          "batches [" + std::to_string(first_batch) + ", " + std::to_string(first_batch + batch_count) +
              ") lie outside the epoch's " + std::to_string(batches));
  require(first_step >= 1, "the Adam step count starts at 1 (got " + std::to_string(first_step) + ")");
  vae_loop_report report{};
  for (int64_t i = 0; i < batch_count; i++) {
    int64_t start = (first_batch + i) * b, rows = std::min(b, s.rows - start), step = first_step + i;
    auto x = loop.batch.narrow(0, 0, rows);
    auto eps = loop.noise.narrow(0, 0, rows);
    {
      torch::NoGradGuard no_grad;
      torch::index_select_out(x, loop.data, 0, loop.order.narrow(0, start, rows));
      if (s.dynamic_binarization) {
        auto bits = counter_bits(counter_key(s.seed, s.binarization_stream, step), loop.feature_index.narrow(0, 0, rows * f));
        x.copy_(counter_uniform(bits).view({rows, f}).lt(x));
      }
      auto bits = counter_bits(counter_key(s.seed, s.noise_stream, step), loop.noise_index.narrow(0, 0, rows * k * d));
      eps.copy_(counter_normal(bits).view({rows, k, d}));
    }
    auto [bounds, gradient] = bounds_and_gradient(m, x, eps, loop.objective);
    adam_step(m, gradient, vae_adam{s.learning_rate, s.beta1, s.beta2, s.epsilon, step});
    torch::NoGradGuard no_grad;
    loop.bound_sum.add_(bounds.sum(0, /*keepdim=*/false, torch::kFloat64));
    loop.last_rows = rows;
    report.rows += rows;
  }
  // One read-back: the bound sum, the parameter sum and, when asked, the last batch's bounds after its update.
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> results{loop.bound_sum, m.parameters.sum(0, false, torch::kFloat64)};
  if (check_last_update) {
    auto x = loop.batch.narrow(0, 0, loop.last_rows), eps = loop.noise.narrow(0, 0, loop.last_rows);
    auto bounds = torch::logsumexp(log_weights(m, x, eps), {1}) - std::log(static_cast<double>(k));
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
