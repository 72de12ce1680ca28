// Categorical latents: Gumbel-max samples, their relaxation and the closed-form KL (the managed engine's
// GumbelSoftmax).

#include "shim.h"

namespace vae {

CategoricalSample categorical_sample(const vae_model& m, const torch::Tensor& logits, const torch::Tensor& uniforms) {
  const auto& n = m.network;
  int64_t rows = uniforms.size(0), k = uniforms.size(1), g = n.latent_variables(), c = n.category_count;
  // Keeps -log(-log u) finite for u at the ends of the float grid (as the managed engine's GumbelSoftmax).
  auto u = uniforms.view({rows, k, g, c}).clamp(1e-10f, 1.0f - 6e-8f);
  auto log_probabilities = torch::log_softmax(logits.view({rows, 1, g, c}), -1);
  auto perturbed = log_probabilities - torch::log(-torch::log(u));
  auto index = perturbed.detach().argmax(-1, /*keepdim=*/true);
  auto hard = torch::zeros_like(u).scatter_(-1, index, 1.0);
  auto log_q = log_probabilities.expand({rows, k, g, c}).gather(-1, index).squeeze(-1).sum(-1);
  return {log_probabilities, perturbed, hard, log_q};
}

// KL(q || uniform) per row of categorical log probabilities [rows, 1, G, C].
torch::Tensor categorical_kl(const torch::Tensor& log_probabilities) {
  int64_t g = log_probabilities.size(2), c = log_probabilities.size(3);
  return (torch::exp(log_probabilities) * log_probabilities).sum({1, 2, 3}) + g * std::log(static_cast<double>(c));
}

}  // namespace vae
