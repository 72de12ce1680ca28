// Log-likelihood estimates with the noise drawn on the device (the managed VaeModel.LogLikelihood, with the
// counter-based generator in place of the host's streams): passes of at most sample_rows sample rows, the running
// log-sum-exp kept on the device, one read-back per group of rows.

#include "shim.h"

#include <cmath>

namespace vae {

void device_log_likelihood(vae_model& m, const float* x, int32_t rows, int32_t samples, int32_t seed, int64_t stream,
                           int64_t first_counter, bool shared_noise, int32_t sample_rows, float* result) {
  const auto& n = m.network;
  require(!n.categorical(), "device scoring draws Gaussian noise: categorical latents score on the host");
  require(x != nullptr && result != nullptr, "x or log_likelihood is null");
  require(rows >= 1 && samples >= 1 && sample_rows >= 1, "rows, samples and sample_rows must be at least 1");
  // The pass sizes of VaeModel.LogLikelihood: equal passes per row, as many rows per pass as fit.
  int64_t passes_per_row = (samples + int64_t{sample_rows} - 1) / sample_rows;
  int64_t samples_per_pass = (samples + passes_per_row - 1) / passes_per_row;
  int64_t rows_per_pass = std::max<int64_t>(1, sample_rows / samples_per_pass);
  int64_t d = n.latent_size, f = n.input_size;
  auto indices = torch::TensorOptions().dtype(torch::kInt64).device(m.device);
  torch::NoGradGuard no_grad;
  for (int64_t first = 0; first < rows; first += rows_per_pass) {
    int64_t count = std::min(rows_per_pass, rows - first);
    auto xt = to_device(m, x + first * f, {count, f});
    auto counters = shared_noise ? torch::full({1}, first_counter, indices)
                                 : torch::arange(first_counter + first, first_counter + first + count, indices);
    auto [key_a, key_b] = counter_keys(seed, stream, counters);
    torch::Tensor total;
    for (int64_t done = 0; done < samples; done += samples_per_pass) {
      int64_t k = std::min(samples_per_pass, samples - done);
      auto index = torch::arange(done * d, (done + k) * d, indices).unsqueeze(0);
      auto eps = counter_normal(counter_bits(key_a, key_b, index)).view({-1, k, d}).expand({count, k, d});
      auto part = torch::logsumexp(log_weights(m, xt, eps).to(torch::kFloat64), {1});
      total = total.defined() ? torch::logaddexp(total, part) : part;
    }
    copy_out((total - std::log(static_cast<double>(samples))).to(torch::kFloat32), result + first);
  }
}

}  // namespace vae
