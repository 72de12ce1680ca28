// The model: its architecture checked against the managed engine's rules (ParameterLayout), its device, and
// the transfers of host arrays.

#include "shim.h"

#include <torch/cuda.h>
#include <cmath>

namespace vae {

namespace {

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

}  // namespace

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

torch::Tensor to_device(const vae_model& m, const float* data, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(data), shape, torch::kFloat32).to(m.device, m.parameters.scalar_type());
}

void copy_out(const torch::Tensor& source, float* target) {
  torch::from_blob(target, {source.numel()}, torch::kFloat32).copy_(source.detach().reshape({-1}));
}

}  // namespace vae
