// Bounds and gradients: the objectives' weights and the estimators' surrogates, term for term the managed
// engine's GradientEstimators (docs/estimators.md), with the backward pass by autograd.

#include "shim.h"

#include <torch/autograd.h>
#include <cmath>

namespace vae {

// log w = log p(x, z) - log q(z|x) [rows, K], without a graph (scoring). Categorical latents: hard samples, exact
// probabilities, the uniform prior.
torch::Tensor log_weights(vae_model& m, const torch::Tensor& x, const torch::Tensor& noise) {
  const auto& n = m.network;
  const auto& p = m.parameters;
  auto q = encode(m, p, x);
  if (n.categorical()) {
    auto sample = categorical_sample(m, q.mean, noise);
    auto z = sample.hard.flatten(2);
    double log_uniform = -n.latent_variables() * std::log(static_cast<double>(n.category_count));
    return decoded_log_likelihood(m, p, x, z) + log_uniform - sample.log_q;
  }
  int64_t d = n.latent_size;
  auto z = q.mean.unsqueeze(1) + torch::exp(0.5 * q.log_variance).unsqueeze(1) * noise;
  auto log_q = -0.5 * (noise.square().sum(-1) + q.log_variance.sum(-1, /*keepdim=*/true) + d * kLogTwoPi);
  return decoded_log_likelihood(m, p, x, z) + log_prior(*scoring_prior(m), z) - log_q;
}

namespace {

// Per row: the objective's bound and the coefficients of the loss gradient per sample (docs/estimators.md; the
// managed engine's GradientEstimators). All coefficients are d loss / d(...) of the loss -(1/rows) sum of the bounds.
struct RowWeights {
  torch::Tensor bounds;  // [rows]
  torch::Tensor model;   // [rows, K]: on d log p(x, z_k) / d(decoder and prior parameters)
  torch::Tensor path;    // [rows, K]: on grad_z of log w(z_k), through z_k to the encoder
  torch::Tensor score;   // [rows, K]: on grad of log q(z_k | x) at fixed z_k; undefined unless the score function
};

RowWeights row_weights(const vae_objective& o, const torch::Tensor& lw) {
  int64_t rows = lw.size(0), k = lw.size(1), groups = o.groups, size = k / groups;
  double scale = 1.0 / rows, beta = o.ciwae_beta;
  auto iwae = torch::logsumexp(lw, {1}) - std::log(static_cast<double>(k));
  auto softmax = torch::softmax(lw, 1);
  auto grouped = lw.view({rows, groups, size});
  auto group_bounds = torch::logsumexp(grouped, {2}) - std::log(static_cast<double>(size));  // [rows, M]
  auto group_weights = torch::softmax(grouped, 2).view({rows, k}) / static_cast<double>(groups);

  // The decoder's objective and its weights d bound / d log w.
  torch::Tensor bound, model;
  switch (o.objective) {
    case VAE_OBJECTIVE_MIWAE:
      bound = group_bounds.mean(1);
      model = group_weights;
      break;
    case VAE_OBJECTIVE_CIWAE:
      bound = beta * lw.mean(1) + (1 - beta) * iwae;
      model = (1 - beta) * softmax + beta / k;
      break;
    default:  // IWAE, and PIWAE's decoder
      bound = iwae;
      model = softmax;
  }
  // PIWAE's encoder maximises MIWAE, every other objective the decoder's.
  bool piwae = o.objective == VAE_OBJECTIVE_PIWAE;
  auto encoder_bound = piwae ? group_bounds.mean(1) : bound;
  auto path = piwae ? group_weights : model;

  torch::Tensor score;
  if (o.estimator == VAE_ESTIMATOR_DOUBLY_REPARAMETERIZED) {
    // The path-only gradient of each IWAE term is sum w~^2 grad log w (Tucker et al. 2018), keeping the term's share.
    if (o.objective == VAE_OBJECTIVE_CIWAE) {
      if (beta < 1) path = beta / k + (1 - beta) * softmax.square();
    } else {
      path = groups * path.square();
    }
  } else if (o.estimator == VAE_ESTIMATOR_SCORE_FUNCTION) {
    // Without a baseline from the host, row b's is the mean IWAE bound of the other rows (independent of its samples).
    auto baseline = !std::isnan(o.score_baseline) ? torch::full({rows}, o.score_baseline, lw.options())
                    : rows > 1 ? (iwae.sum() - iwae) / static_cast<double>(rows - 1)
                               : torch::zeros({rows}, lw.options());
    // The learning signal of z_k is its own group's term of the encoder's objective.
    auto signal = groups == 1 ? (encoder_bound - baseline).unsqueeze(1)
                              : ((group_bounds - baseline.unsqueeze(1)) / static_cast<double>(groups))
                                    .repeat_interleave(size, 1);
    score = -scale * (signal - path);
    path = torch::zeros_like(path);
  }
  return {bound, -scale * model, -scale * path, score};
}

}  // namespace

// Bounds and the loss gradient with respect to the flat parameters. The decoder and prior parameters get
// sum_k model_k d log p(x, z_k)/d theta with z held (a backward pass from a detached copy of z); the encoder gets the
// estimator's path derivative through z (and the relaxed sample), its score terms, the entropy or the closed-form KL,
// as the gradient of a surrogate that is linear in the encoder's outputs with detached coefficients.
std::pair<torch::Tensor, torch::Tensor> bounds_and_gradient(vae_model& m, const torch::Tensor& xt,
                                                            const torch::Tensor& eps, const vae_objective& o) {
  const auto& n = m.network;
  const auto& p = m.parameters;
  torch::AutoGradMode enable(true);
  int64_t rows = xt.size(0), k = eps.size(1), d = n.latent_size;
  bool analytic = o.analytic_kl != 0;
  bool score_function = o.estimator == VAE_ESTIMATOR_SCORE_FUNCTION;
  bool stop_posterior = o.estimator == VAE_ESTIMATOR_STICKING_THE_LANDING ||
                        o.estimator == VAE_ESTIMATOR_DOUBLY_REPARAMETERIZED;
  auto q = encode(m, p, xt);

  // The decoder's input (with the encoder's graph), what the path derivative flows through, log q of the sample (no
  // graph), a term whose gradient is grad log q(z|x) at the fixed sample (the score), and KL(q || p) for the analytic ELBO.
  torch::Tensor z, path_sample, log_q, score, kl, sigma;
  double log_prior_constant = 0;
  if (n.categorical()) {
    auto sample = categorical_sample(m, q.mean, eps);
    auto relaxed = score_function ? torch::Tensor() : torch::softmax(sample.perturbed / o.temperature, -1).flatten(2);
    z = score_function || o.straight_through ? sample.hard.flatten(2) : relaxed;
    path_sample = relaxed;
    log_q = sample.log_q.detach();
    score = sample.log_q;
    if (analytic) kl = categorical_kl(sample.log_probabilities);
    log_prior_constant = -n.latent_variables() * std::log(static_cast<double>(n.category_count));
  } else {
    sigma = torch::exp(0.5 * q.log_variance);
    z = q.mean.unsqueeze(1) + sigma.unsqueeze(1) * eps;
    path_sample = z;
    log_q = (-0.5 * (eps.square().sum(-1) + q.log_variance.sum(-1, /*keepdim=*/true) + d * kLogTwoPi)).detach();
    // At a fixed sample z = mu + sigma eps: grad_mu log q = eps / sigma, grad_{log sigma^2} log q = (eps^2 - 1) / 2.
    score = (q.mean.unsqueeze(1) * (eps / sigma.unsqueeze(1)).detach()).sum(-1) +
            0.5 * (q.log_variance.unsqueeze(1) * (eps.square() - 1)).sum(-1);
    if (analytic) kl = 0.5 * (q.mean.square() + torch::exp(q.log_variance) - 1 - q.log_variance).sum(-1);
  }

  // log p(x, z) of a detached copy of z: its backward pass reaches the decoder and prior parameters only.
  bool uses_path = !score_function;
  auto z_held = z.detach().requires_grad_(uses_path);
  auto model_terms = decoded_log_likelihood(m, p, xt, z_held);
  auto log_px = model_terms.detach();
  if (!analytic) {
    model_terms = n.categorical() ? model_terms + log_prior_constant
                                  : model_terms + log_prior(prior_mixture(m, p), z_held);
  }

  RowWeights w;
  if (analytic) {
    auto coefficient = torch::full({rows, k}, -1.0 / (static_cast<double>(rows) * k), log_px.options());
    w = {log_px.mean(1) - kl.detach(), coefficient, coefficient, {}};
  } else {
    w = row_weights(o, model_terms.detach() - log_q);
  }

  // Decoder and prior; the path derivative comes from the same pass unless its weights differ (DReG, PIWAE).
  bool separate_path = uses_path && (o.estimator == VAE_ESTIMATOR_DOUBLY_REPARAMETERIZED ||
                                     (o.objective == VAE_OBJECTIVE_PIWAE && !analytic));
  std::vector<torch::Tensor> inputs{p};
  if (uses_path && !separate_path) inputs.push_back(z_held);
  auto grads = torch::autograd::grad({model_terms}, inputs, {w.model}, /*retain_graph=*/separate_path,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  auto gradient = grads[0].defined() ? grads[0] : torch::zeros_like(p);

  // The encoder's surrogate.
  auto surrogate = torch::zeros({}, p.options().requires_grad(false));
  if (uses_path) {
    auto dz = separate_path ? torch::autograd::grad({model_terms}, {z_held}, {w.path})[0] : grads[1];
    // STL and DReG keep -log q inside log w with q's parameters held: grad_z (-log q) = eps / sigma.
    if (stop_posterior) dz = dz + w.path.unsqueeze(-1) * (eps / sigma.unsqueeze(1)).detach();
    surrogate = surrogate + (dz.detach() * path_sample).sum();
    // The plain trick differentiates -log q(z(eps)) = 1/2 sum (eps^2 + log sigma^2 + log 2 pi) in full: the entropy.
    if (!n.categorical() && o.estimator == VAE_ESTIMATOR_REPARAMETERIZATION && !analytic)
      surrogate = surrogate + 0.5 * (w.path.sum(1) * q.log_variance.sum(1)).sum();
  }
  if (score_function) surrogate = surrogate + (w.score * score).sum();
  if (analytic) surrogate = surrogate + kl.sum() / static_cast<double>(rows);
  auto encoder = torch::autograd::grad({surrogate}, {p}, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                       /*allow_unused=*/true)[0];
  if (encoder.defined()) gradient = gradient + encoder;
  return {w.bounds, gradient};
}

}  // namespace vae
