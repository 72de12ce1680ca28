// log p(x|z) of the Bernoulli and Gaussian decoders (the managed engine's ObservationLikelihood).

#include "shim.h"

namespace vae {

// log p(x|z) [rows, K] of x [rows, F] given the decoder outputs o [rows, K, F].
torch::Tensor log_likelihood(const vae_model& m, const torch::Tensor& p, const torch::Tensor& x, const torch::Tensor& o) {
  const auto& n = m.network;
  int64_t f = n.input_size;
  auto xs = x.unsqueeze(1);
  if (n.decoder == VAE_DECODER_BERNOULLI) return (xs * o - torch::softplus(o)).sum(-1);
  if (n.decoder_log_variance_offset >= 0) {
    auto log_variance = p.narrow(0, n.decoder_log_variance_offset, f);
    auto quadratic = ((xs - o).square() * torch::exp(-log_variance)).sum(-1);
    return -0.5 * (quadratic + log_variance.sum() + f * kLogTwoPi);
  }
  double variance = n.decoder_variance;
  return -0.5 * ((xs - o).square().sum(-1) / variance + f * (std::log(variance) + kLogTwoPi));
}

// log p(x|z) for latent samples z [rows, K, D].
torch::Tensor decoded_log_likelihood(const vae_model& m, const torch::Tensor& p, const torch::Tensor& x,
                                     const torch::Tensor& z) {
  int64_t rows = z.size(0), k = z.size(1);
  auto o = decode(m, p, z.reshape({rows * k, m.network.latent_size})).view({rows, k, m.network.input_size});
  return log_likelihood(m, p, x, o);
}

}  // namespace vae
