// The priors of Gaussian latents (the managed engine's Priors): standard normal, learned Gaussian and VampPrior,
// all as one diagonal Gaussian mixture.

#include "shim.h"

namespace vae {

// The prior of Gaussian latents from the parameters p (with p's graph): standard normal, learned Gaussian, or the
// encoder's posteriors at the pseudo-inputs (VampPrior).
Mixture prior_mixture(const vae_model& m, const torch::Tensor& p) {
  const auto& n = m.network;
  int64_t d = n.latent_size;
  switch (n.prior) {
    case VAE_PRIOR_LEARNED_GAUSSIAN:
      return {p.narrow(0, n.prior_mean_offset, d).view({1, d}), p.narrow(0, n.prior_log_variance_offset, d).view({1, d})};
    case VAE_PRIOR_VAMP: {
      auto pseudo = p.narrow(0, n.pseudo_input_offset, n.pseudo_input_count * n.input_size)
                        .view({n.pseudo_input_count, n.input_size});
      auto q = encode(m, p, pseudo);
      return {q.mean, q.log_variance};
    }
    default: {
      auto zeros = torch::zeros({1, d}, p.options().requires_grad(false));
      return {zeros, zeros};
    }
  }
}

// The scoring prior of the current parameters (no graph), shared by concurrent scoring calls.
std::shared_ptr<const Mixture> scoring_prior(vae_model& m) {
  std::lock_guard<std::mutex> lock(m.prior_mutex);
  if (!m.scoring_prior) {
    torch::NoGradGuard no_grad;
    m.scoring_prior = std::make_shared<const Mixture>(prior_mixture(m, m.parameters));
  }
  return m.scoring_prior;
}

void parameters_changed(vae_model& m) {
  std::lock_guard<std::mutex> lock(m.prior_mutex);
  m.scoring_prior.reset();
}

// log p(z) of z [..., D] under the mixture: per component -1/2 (sum_d (z - m)^2 / sigma^2 + log sigma^2 + log 2 pi),
// then log-mean-exp over the components.
torch::Tensor log_prior(const Mixture& prior, const torch::Tensor& z) {
  int64_t c = prior.means.size(0), d = prior.means.size(1);
  auto shape = z.sizes().vec();
  shape.pop_back();
  auto points = z.reshape({-1, d});
  auto inverse = torch::exp(-prior.log_variances);
  auto normalizer = -0.5 * (prior.log_variances.sum(1) + d * kLogTwoPi) - std::log(static_cast<double>(c));
  torch::Tensor log_density;
  if (c == 1) {
    log_density = normalizer - 0.5 * ((points - prior.means).square() * inverse).sum(1);
  } else {
    // sum_d (z - m)^2 / sigma^2 expanded into matrix products: memory O(points x C) rather than O(points x C x D).
    auto quadratic = torch::mm(points.square(), inverse.t()) - 2 * torch::mm(points, (prior.means * inverse).t()) +
                     (prior.means.square() * inverse).sum(1);
    log_density = torch::logsumexp(normalizer - 0.5 * quadratic, {1});
  }
  return log_density.view(shape);
}

}  // namespace vae
