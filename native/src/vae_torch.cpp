// The libtorch engine of Microsoft.ML.Vae behind the flat C interface of vae_torch.h. The forward pass is written
// with torch operations and differentiated by autograd; the mathematics is that of docs/design.md and
// docs/estimators.md, term for term the managed engine's (its GradientEstimators, priors and Gumbel-Softmax), so both
// engines give the same bound and gradients for the same parameters and noise.
//
// Only API present in both libtorch 1.13 and 2.x is used.

#include "vae_torch.h"

#include <torch/autograd.h>
#include <torch/cuda.h>
#include <torch/types.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr double kLogTwoPi = 1.8378770664093453;

// The C# side mirrors these structures field for field (Engine/LibTorch/NativeStructures.cs).
static_assert(sizeof(vae_dense_layer) == 24, "vae_dense_layer changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_architecture) == 176, "vae_architecture changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_adam) == 24, "vae_adam changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_objective) == 32, "vae_objective changed: raise VAE_ABI_VERSION");

// A fixed buffer, so that recording an error can never fail or allocate.
thread_local char t_last_error[2048];

void set_error(const char* message) noexcept {
  std::strncpy(t_last_error, message, sizeof t_last_error - 1);
  t_last_error[sizeof t_last_error - 1] = '\0';
}

// A bad argument from the caller, as opposed to a failure inside libtorch.
struct argument_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

void require(bool condition, const std::string& message) {
  if (!condition) throw argument_error(message);
}

// Runs body and turns every exception into a status and a thread-local message.
template <class Body>
int32_t guarded(Body&& body) noexcept {
  try {
    body();
    return VAE_OK;
  } catch (const argument_error& e) {
    set_error(e.what());
    return VAE_ERROR_ARGUMENT;
  } catch (const c10::OutOfMemoryError& e) {
    set_error(e.what_without_backtrace());
    return VAE_ERROR_OUT_OF_MEMORY;
  } catch (const c10::Error& e) {
    set_error(e.what_without_backtrace());
    return VAE_ERROR_TORCH;
  } catch (const std::bad_alloc&) {
    set_error("out of host memory");
    return VAE_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_error(e.what());
    return VAE_ERROR_UNKNOWN;
  } catch (...) {
    set_error("an unknown C++ exception");
    return VAE_ERROR_UNKNOWN;
  }
}

struct Dense {
  int64_t weight_offset;
  int64_t bias_offset;
  int64_t inputs;
  int64_t outputs;
};

struct Network {
  std::vector<Dense> encoder_hidden;
  Dense encoder_mean;          // the logits head of categorical latents
  Dense encoder_log_variance;  // Gaussian latents only
  std::vector<Dense> decoder_hidden;
  Dense decoder_output;
  int64_t decoder_log_variance_offset;
  int64_t parameter_count;
  int64_t input_size;
  int64_t latent_size;
  int32_t activation;
  int32_t decoder;
  float decoder_variance;
  int32_t latent;
  int64_t category_count;
  int32_t prior;
  int64_t pseudo_input_count;
  int64_t prior_mean_offset;
  int64_t prior_log_variance_offset;
  int64_t pseudo_input_offset;

  bool categorical() const { return latent == VAE_LATENT_CATEGORICAL; }
  int64_t latent_variables() const { return latent_size / category_count; }
};

Dense checked_layer(const vae_dense_layer& layer, int64_t inputs, int64_t count, const std::string& name) {
  require(layer.inputs == inputs && layer.outputs >= 1,
          name + " has shape [" + std::to_string(layer.inputs) + ", " + std::to_string(layer.outputs) + "], expected [" +
              std::to_string(inputs) + ", n >= 1]");
  int64_t weights = int64_t{layer.inputs} * layer.outputs;
  require(layer.weight_offset >= 0 && layer.weight_offset + weights <= count, name + ".W lies outside the parameters");
  require(layer.bias_offset >= 0 && layer.bias_offset + layer.outputs <= count, name + ".b lies outside the parameters");
  return {layer.weight_offset, layer.bias_offset, layer.inputs, layer.outputs};
}

// A tensor of length elements at offset, or -1 when the model has none (present says which is expected).
int64_t checked_offset(int64_t offset, int64_t length, int64_t count, bool present, const std::string& name) {
  if (!present) {
    require(offset == -1, name + " must be -1: this prior has no such tensor");
    return -1;
  }
  require(offset >= 0 && offset + length <= count, name + " lies outside the parameters");
  return offset;
}

Network checked_network(const vae_architecture* a) {
  require(a != nullptr, "architecture is null");
  require(a->parameter_count >= 1 && a->input_size >= 1 && a->latent_size >= 1,
          "parameter_count, input_size and latent_size must be positive");
  require(a->encoder_hidden_count >= 1 && a->encoder_hidden != nullptr, "the encoder needs at least one hidden layer");
  require(a->decoder_hidden_count >= 0 && (a->decoder_hidden_count == 0 || a->decoder_hidden != nullptr),
          "decoder_hidden is null");
  require(a->activation >= VAE_ACTIVATION_TANH && a->activation <= VAE_ACTIVATION_IDENTITY, "unknown activation");
  require(a->decoder == VAE_DECODER_BERNOULLI || a->decoder == VAE_DECODER_GAUSSIAN, "unknown decoder");
  require(a->decoder_variance > 0 && std::isfinite(a->decoder_variance), "decoder_variance must be positive and finite");
  require(a->latent == VAE_LATENT_GAUSSIAN || a->latent == VAE_LATENT_CATEGORICAL, "unknown latent kind");
  require(a->prior >= VAE_PRIOR_STANDARD && a->prior <= VAE_PRIOR_VAMP, "unknown prior");
  bool categorical = a->latent == VAE_LATENT_CATEGORICAL;
  require(categorical ? a->category_count >= 2 && a->latent_size % a->category_count == 0 : a->category_count == 1,
          "category_count must be 1 for Gaussian latents, and at least 2 and divide latent_size for categorical ones");
  require(!categorical || a->prior == VAE_PRIOR_STANDARD, "categorical latents have the uniform prior (VAE_PRIOR_STANDARD)");
  require(a->prior == VAE_PRIOR_VAMP ? a->pseudo_input_count >= 1 : a->pseudo_input_count == 0,
          "pseudo_input_count must be positive for the VampPrior and 0 otherwise");

  Network n{};
  n.parameter_count = a->parameter_count;
  n.input_size = a->input_size;
  n.latent_size = a->latent_size;
  n.activation = a->activation;
  n.decoder = a->decoder;
  n.decoder_variance = a->decoder_variance;
  n.latent = a->latent;
  n.category_count = a->category_count;
  n.prior = a->prior;
  n.pseudo_input_count = a->pseudo_input_count;
  int64_t width = a->input_size;
  for (int32_t i = 0; i < a->encoder_hidden_count; i++) {
    n.encoder_hidden.push_back(checked_layer(a->encoder_hidden[i], width, n.parameter_count, "enc." + std::to_string(i)));
    width = n.encoder_hidden.back().outputs;
  }
  n.encoder_mean = checked_layer(a->encoder_mean, width, n.parameter_count, categorical ? "enc.logits" : "enc.mu");
  require(n.encoder_mean.outputs == n.latent_size, "the encoder heads must have latent_size outputs");
  if (!categorical) {
    n.encoder_log_variance = checked_layer(a->encoder_log_variance, width, n.parameter_count, "enc.logvar");
    require(n.encoder_log_variance.outputs == n.latent_size, "the encoder heads must have latent_size outputs");
  }
  width = a->latent_size;
  for (int32_t j = 0; j < a->decoder_hidden_count; j++) {
    n.decoder_hidden.push_back(checked_layer(a->decoder_hidden[j], width, n.parameter_count, "dec." + std::to_string(j)));
    width = n.decoder_hidden.back().outputs;
  }
  n.decoder_output = checked_layer(a->decoder_output, width, n.parameter_count, "dec.out");
  require(n.decoder_output.outputs == n.input_size, "dec.out must have input_size outputs");
  n.decoder_log_variance_offset = a->decoder_log_variance_offset;
  require(n.decoder_log_variance_offset == -1 ||
              (a->decoder == VAE_DECODER_GAUSSIAN && n.decoder_log_variance_offset >= 0 &&
               n.decoder_log_variance_offset + n.input_size <= n.parameter_count),
          "decoder_log_variance_offset must be -1, or lie inside the parameters with a Gaussian decoder");
  bool learned = a->prior == VAE_PRIOR_LEARNED_GAUSSIAN;
  n.prior_mean_offset = checked_offset(a->prior_mean_offset, n.latent_size, n.parameter_count, learned, "prior_mean_offset");
  n.prior_log_variance_offset =
      checked_offset(a->prior_log_variance_offset, n.latent_size, n.parameter_count, learned, "prior_log_variance_offset");
  n.pseudo_input_offset = checked_offset(a->pseudo_input_offset, n.pseudo_input_count * n.input_size,
                                         n.parameter_count, a->prior == VAE_PRIOR_VAMP, "pseudo_input_offset");
  return n;
}

torch::Device checked_device(const char* name) {
  require(name != nullptr, "device is null");
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(std::string(name));
  } catch (const c10::Error&) {
    throw argument_error(std::string("'") + name + "' is not a device: use \"cpu\" or \"cuda:N\"");
  }
  require(device.is_cpu() || device.is_cuda(), std::string("device '") + name + "' is neither CPU nor CUDA");
  if (device.is_cuda()) {
    auto count = static_cast<int64_t>(torch::cuda::device_count());
    require(count > 0, "CUDA is not available to this libtorch (a CPU-only build, or no GPU or driver)");
    require(device.index() < count, std::string("device '") + name + "' does not exist: libtorch sees " +
                                        std::to_string(count) + " CUDA device(s)");
    if (!device.has_index()) device = torch::Device(torch::kCUDA, 0);
  }
  return device;
}

// A diagonal Gaussian mixture (1/C) sum_c N(means_c, diag exp(log_variances_c)): the one form of every Gaussian prior.
struct Mixture {
  torch::Tensor means;          // [C, D]
  torch::Tensor log_variances;  // [C, D]
};

}  // namespace

struct vae_model {
  vae_model(Network n, torch::Device d, torch::Tensor p, torch::Tensor first, torch::Tensor second)
      : network(std::move(n)), device(d), parameters(std::move(p)), first_moment(std::move(first)),
        second_moment(std::move(second)) {}

  Network network;
  torch::Device device;
  torch::Tensor parameters;  // flat, float32 (float64 for the reference model), on the device, requires grad
  torch::Tensor first_moment;
  torch::Tensor second_moment;
  // The prior of the current parameters for scoring (the VampPrior's is an encoder pass over its pseudo-inputs),
  // built on first use and dropped whenever the parameters change, so concurrent scoring calls share one.
  std::mutex prior_mutex;
  std::shared_ptr<const Mixture> scoring_prior;
};

namespace {

vae_model& checked(vae_model* model) {
  require(model != nullptr, "model is null");
  return *model;
}

void check_batch(const float* x, int32_t rows, const float* noise, int32_t samples) {
  require(rows >= 1, "rows must be at least 1 (got " + std::to_string(rows) + ")");
  require(samples >= 1, "samples must be at least 1 (got " + std::to_string(samples) + ")");
  require(x != nullptr && noise != nullptr, "x or noise is null");
}

// The objective's settings, checked against the model and the sample count (the managed engine's rules).
vae_objective checked_objective(const vae_model& m, const vae_objective* o, int32_t samples) {
  require(o != nullptr, "objective is null");
  require(o->objective >= VAE_OBJECTIVE_IWAE && o->objective <= VAE_OBJECTIVE_PIWAE, "unknown objective");
  require(o->estimator >= VAE_ESTIMATOR_REPARAMETERIZATION && o->estimator <= VAE_ESTIMATOR_SCORE_FUNCTION,
          "unknown gradient estimator");
  bool grouped = o->objective == VAE_OBJECTIVE_MIWAE || o->objective == VAE_OBJECTIVE_PIWAE;
  require(!grouped || (o->groups >= 1 && samples % o->groups == 0),
          "groups " + std::to_string(o->groups) + " must divide samples " + std::to_string(samples));
  require(o->ciwae_beta >= 0 && o->ciwae_beta <= 1, "ciwae_beta must lie in [0, 1]");
  require(std::isnan(o->score_baseline) || std::isfinite(o->score_baseline), "score_baseline must be finite or NaN");
  require(!o->analytic_kl || samples == 1, "analytic_kl needs samples = 1 (got " + std::to_string(samples) + ")");
  require(!o->analytic_kl || (o->objective == VAE_OBJECTIVE_IWAE && o->estimator == VAE_ESTIMATOR_REPARAMETERIZATION &&
                              m.network.prior == VAE_PRIOR_STANDARD),
          "analytic_kl needs the IWAE objective, the reparameterisation estimator and the standard prior");
  if (m.network.categorical()) {
    require(o->estimator == VAE_ESTIMATOR_REPARAMETERIZATION || o->estimator == VAE_ESTIMATOR_SCORE_FUNCTION,
            "categorical latents train with the reparameterisation (Gumbel-Softmax) or the score-function estimator");
    require(o->estimator != VAE_ESTIMATOR_REPARAMETERIZATION || o->analytic_kl,
            "categorical latents with the Gumbel-Softmax relaxation need analytic_kl");
    require(o->temperature > 0 && std::isfinite(o->temperature), "the Gumbel-Softmax temperature must be positive");
  }
  vae_objective result = *o;
  if (!grouped) result.groups = 1;
  return result;
}

// The caller's host array as a tensor on the device, in the model's precision. On the CPU a float32 model aliases
// the caller's memory, which is only read.
torch::Tensor to_device(const vae_model& m, const float* data, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(data), shape, torch::kFloat32).to(m.device, m.parameters.scalar_type());
}

void copy_out(const torch::Tensor& source, float* target) {
  torch::from_blob(target, {source.numel()}, torch::kFloat32).copy_(source.detach().reshape({-1}));
}

torch::Tensor dense(const torch::Tensor& p, const Dense& layer, const torch::Tensor& input) {
  auto weight = p.narrow(0, layer.weight_offset, layer.inputs * layer.outputs).view({layer.inputs, layer.outputs});
  auto bias = p.narrow(0, layer.bias_offset, layer.outputs);
  return torch::addmm(bias, input, weight);
}

torch::Tensor activate(int32_t activation, const torch::Tensor& v) {
  switch (activation) {
    case VAE_ACTIVATION_TANH: return torch::tanh(v);
    case VAE_ACTIVATION_RELU: return torch::relu(v);
    case VAE_ACTIVATION_SOFTPLUS: return torch::softplus(v);
    default: return v;
  }
}

struct Posterior {
  torch::Tensor mean;          // [rows, D]; the logits of categorical latents
  torch::Tensor log_variance;  // [rows, D]; undefined for categorical latents
};

Posterior encode(const vae_model& m, const torch::Tensor& p, const torch::Tensor& x) {
  auto h = x;
  for (const auto& layer : m.network.encoder_hidden) h = activate(m.network.activation, dense(p, layer, h));
  if (m.network.categorical()) return {dense(p, m.network.encoder_mean, h), {}};
  return {dense(p, m.network.encoder_mean, h), dense(p, m.network.encoder_log_variance, h)};
}

// Decoder output o: logits (Bernoulli) or means (Gaussian).
torch::Tensor decode(const vae_model& m, const torch::Tensor& p, const torch::Tensor& z) {
  auto g = z;
  for (const auto& layer : m.network.decoder_hidden) g = activate(m.network.activation, dense(p, layer, g));
  return dense(p, m.network.decoder_output, g);
}

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

// Categorical latents as [rows, K, G, C]: log pi of the logits and the Gumbel-perturbed log probabilities.
struct CategoricalSample {
  torch::Tensor log_probabilities;  // [rows, 1, G, C], with the encoder's graph
  torch::Tensor perturbed;          // log pi + g, g = -log(-log u)
  torch::Tensor hard;               // one-hot(argmax(perturbed)), no graph
  torch::Tensor log_q;              // [rows, K]: log q(hard | x) = sum_g log pi_{g, h_g}, with the encoder's graph
};

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

// Bounds and the loss gradient with respect to the flat parameters. The decoder and prior parameters get
// sum_k model_k d log p(x, z_k)/d theta with z held (a backward pass from a detached copy of z); the encoder gets the
// estimator's path derivative through z (and the relaxed sample), its score terms, the entropy or the closed-form KL,
// as the gradient of a surrogate that is linear in the encoder's outputs with detached coefficients.
std::pair<torch::Tensor, torch::Tensor> bounds_and_gradient(vae_model& m, const float* x, int32_t rows,
                                                            const float* noise, int32_t samples,
                                                            const vae_objective& o) {
  check_batch(x, rows, noise, samples);
  const auto& n = m.network;
  const auto& p = m.parameters;
  torch::AutoGradMode enable(true);
  int64_t k = samples, d = n.latent_size;
  auto xt = to_device(m, x, {rows, n.input_size});
  auto eps = to_device(m, noise, {rows, k, d});
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

// Adam with bias correction, in the order of the managed engine's AdamOptimizer.
void adam_step(vae_model& m, const torch::Tensor& gradient, const vae_adam& s) {
  torch::NoGradGuard no_grad;
  float first_correction = 1.0f / (1.0f - std::pow(s.beta1, static_cast<float>(s.step)));
  float second_correction = 1.0f / (1.0f - std::pow(s.beta2, static_cast<float>(s.step)));
  m.first_moment.mul_(s.beta1).add_(gradient, 1.0f - s.beta1);
  m.second_moment.mul_(s.beta2).addcmul_(gradient, gradient, 1.0f - s.beta2);
  auto denominator = (m.second_moment * second_correction).sqrt_().add_(s.epsilon);
  m.parameters.addcdiv_(m.first_moment, denominator, -s.learning_rate * first_correction);
  parameters_changed(m);
}

}  // namespace

extern "C" {

VAE_API int32_t vae_abi_version(void) { return VAE_ABI_VERSION; }

VAE_API const char* vae_last_error(void) { return t_last_error; }

VAE_API const char* vae_torch_version(void) { return TORCH_VERSION; }

VAE_API int32_t vae_cuda_device_count(int32_t* count) {
  return guarded([&] {
    require(count != nullptr, "count is null");
    *count = static_cast<int32_t>(torch::cuda::device_count());
  });
}

VAE_API int32_t vae_set_num_threads(int32_t threads) {
  return guarded([&] {
    require(threads >= 1, "threads must be at least 1 (got " + std::to_string(threads) + ")");
    if (at::get_num_threads() != threads) at::set_num_threads(threads);
  });
}

namespace {

int32_t create_model(const vae_architecture* architecture, const char* device, torch::Dtype precision, vae_model** model) {
  return guarded([&] {
    require(model != nullptr, "model is null");
    *model = nullptr;
    auto network = checked_network(architecture);
    auto target = checked_device(device);
    auto options = torch::TensorOptions().dtype(precision).device(target);
    auto parameters = torch::zeros({network.parameter_count}, options).requires_grad_(true);
    auto first = torch::zeros({network.parameter_count}, options);
    auto second = torch::zeros({network.parameter_count}, options);
    *model = new vae_model(std::move(network), target, parameters, first, second);
  });
}

}  // namespace

VAE_API int32_t vae_model_create(const vae_architecture* architecture, const char* device, vae_model** model) {
  return create_model(architecture, device, torch::kFloat32, model);
}

VAE_API int32_t vae_model_create_float64(const vae_architecture* architecture, const char* device, vae_model** model) {
  return create_model(architecture, device, torch::kFloat64, model);
}

VAE_API void vae_model_destroy(vae_model* model) {
  guarded([&] { delete model; });
}

VAE_API int32_t vae_model_set_parameters(vae_model* model, const float* parameters, int64_t count) {
  return guarded([&] {
    auto& m = checked(model);
    require(parameters != nullptr, "parameters is null");
    require(count == m.network.parameter_count, "expected " + std::to_string(m.network.parameter_count) +
                                                    " parameters, got " + std::to_string(count));
    torch::NoGradGuard no_grad;
    m.parameters.copy_(torch::from_blob(const_cast<float*>(parameters), {count}, torch::kFloat32));
    m.first_moment.zero_();
    m.second_moment.zero_();
    parameters_changed(m);
  });
}

VAE_API int32_t vae_model_get_parameters(vae_model* model, float* parameters, int64_t count) {
  return guarded([&] {
    auto& m = checked(model);
    require(parameters != nullptr, "parameters is null");
    require(count == m.network.parameter_count, "expected " + std::to_string(m.network.parameter_count) +
                                                    " parameters, got " + std::to_string(count));
    copy_out(m.parameters, parameters);
  });
}

VAE_API int32_t vae_model_gradient(vae_model* model, const float* x, int32_t rows, const float* noise, int32_t samples,
                                   const vae_objective* objective, float* row_bounds_out, float* gradient_out) {
  return guarded([&] {
    auto& m = checked(model);
    require(row_bounds_out != nullptr && gradient_out != nullptr, "row_bounds or gradient is null");
    auto settings = checked_objective(m, objective, samples);
    auto [bounds, gradient] = bounds_and_gradient(m, x, rows, noise, samples, settings);
    copy_out(bounds, row_bounds_out);
    copy_out(gradient, gradient_out);
  });
}

VAE_API int32_t vae_model_train_step(vae_model* model, const float* x, int32_t rows, const float* noise,
                                     int32_t samples, const vae_objective* objective, const vae_adam* adam,
                                     float* row_bounds_out) {
  return guarded([&] {
    auto& m = checked(model);
    require(adam != nullptr && row_bounds_out != nullptr, "adam or row_bounds is null");
    require(adam->step >= 1, "the Adam step count starts at 1 (got " + std::to_string(adam->step) + ")");
    auto settings = checked_objective(m, objective, samples);
    auto [bounds, gradient] = bounds_and_gradient(m, x, rows, noise, samples, settings);
    adam_step(m, gradient, *adam);
    copy_out(bounds, row_bounds_out);
  });
}

VAE_API int32_t vae_model_encode(vae_model* model, const float* x, int32_t rows, float* mean, float* log_variance) {
  return guarded([&] {
    auto& m = checked(model);
    require(rows >= 1 && x != nullptr && mean != nullptr && log_variance != nullptr,
            "rows must be at least 1 and x, mean and log_variance not null");
    torch::NoGradGuard no_grad;
    auto q = encode(m, m.parameters, to_device(m, x, {rows, m.network.input_size}));
    if (!m.network.categorical()) {
      copy_out(q.mean, mean);
      copy_out(q.log_variance, log_variance);
      return;
    }
    // The mean of the one-hot z is pi; its log-variance log pi + log(1 - pi), with log(1 - pi) from the other classes.
    int64_t c = m.network.category_count;
    auto log_probabilities = torch::log_softmax(q.mean.view({rows, -1, c}), -1);
    auto others = torch::zeros({c, c}, log_probabilities.options())
                      .masked_fill(torch::eye(c, log_probabilities.options().dtype(torch::kBool)), -INFINITY);
    auto log_complement = torch::logsumexp(log_probabilities.unsqueeze(-2) + others, {-1});
    copy_out(torch::exp(log_probabilities), mean);
    copy_out(log_probabilities + log_complement, log_variance);
  });
}

VAE_API int32_t vae_model_log_weights(vae_model* model, const float* x, int32_t rows, const float* noise,
                                      int32_t samples, float* log_weights) {
  return guarded([&] {
    auto& m = checked(model);
    check_batch(x, rows, noise, samples);
    require(log_weights != nullptr, "log_weights is null");
    torch::NoGradGuard no_grad;
    auto xt = to_device(m, x, {rows, m.network.input_size});
    auto eps = to_device(m, noise, {rows, samples, m.network.latent_size});
    copy_out(::log_weights(m, xt, eps), log_weights);
  });
}

VAE_API int32_t vae_model_decode(vae_model* model, const float* z, int32_t rows, float* output) {
  return guarded([&] {
    auto& m = checked(model);
    require(rows >= 1 && z != nullptr && output != nullptr, "rows must be at least 1 and z and output not null");
    torch::NoGradGuard no_grad;
    auto o = decode(m, m.parameters, to_device(m, z, {rows, m.network.latent_size}));
    copy_out(m.network.decoder == VAE_DECODER_BERNOULLI ? torch::sigmoid(o) : o, output);
  });
}

}  // extern "C"
