// The libtorch engine of Microsoft.ML.Vae behind the flat C interface of vae_torch.h. The forward pass is written
// with torch operations and differentiated by autograd; the mathematics is that of docs/design.md, term for term the
// managed engine's, so both engines give the same bound and gradients for the same parameters and noise.
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
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr double kLogTwoPi = 1.8378770664093453;

// The C# side mirrors these structures field for field (Engine/LibTorch/NativeStructures.cs).
static_assert(sizeof(vae_dense_layer) == 24, "vae_dense_layer changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_architecture) == 136, "vae_architecture changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_adam) == 24, "vae_adam changed: raise VAE_ABI_VERSION");

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
  Dense encoder_mean;
  Dense encoder_log_variance;
  std::vector<Dense> decoder_hidden;
  Dense decoder_output;
  int64_t decoder_log_variance_offset;
  int64_t parameter_count;
  int64_t input_size;
  int64_t latent_size;
  int32_t activation;
  int32_t decoder;
  float decoder_variance;
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

  Network n{};
  n.parameter_count = a->parameter_count;
  n.input_size = a->input_size;
  n.latent_size = a->latent_size;
  n.activation = a->activation;
  n.decoder = a->decoder;
  n.decoder_variance = a->decoder_variance;
  int64_t width = a->input_size;
  for (int32_t i = 0; i < a->encoder_hidden_count; i++) {
    n.encoder_hidden.push_back(checked_layer(a->encoder_hidden[i], width, n.parameter_count, "enc." + std::to_string(i)));
    width = n.encoder_hidden.back().outputs;
  }
  n.encoder_mean = checked_layer(a->encoder_mean, width, n.parameter_count, "enc.mu");
  n.encoder_log_variance = checked_layer(a->encoder_log_variance, width, n.parameter_count, "enc.logvar");
  require(n.encoder_mean.outputs == n.latent_size && n.encoder_log_variance.outputs == n.latent_size,
          "the encoder heads must have latent_size outputs");
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

}  // namespace

struct vae_model {
  Network network;
  torch::Device device;
  torch::Tensor parameters;  // flat, float32, on the device, requires grad
  torch::Tensor first_moment;
  torch::Tensor second_moment;
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

// The caller's host array as a tensor on the device. On the CPU this aliases the caller's memory, which is only read.
torch::Tensor to_device(const vae_model& m, const float* data, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(data), shape, torch::kFloat32).to(m.device);
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
  torch::Tensor mean;          // [rows, D]
  torch::Tensor log_variance;  // [rows, D]
};

Posterior encode(const vae_model& m, const torch::Tensor& p, const torch::Tensor& x) {
  auto h = x;
  for (const auto& layer : m.network.encoder_hidden) h = activate(m.network.activation, dense(p, layer, h));
  return {dense(p, m.network.encoder_mean, h), dense(p, m.network.encoder_log_variance, h)};
}

// Decoder output o: logits (Bernoulli) or means (Gaussian).
torch::Tensor decode(const vae_model& m, const torch::Tensor& p, const torch::Tensor& z) {
  auto g = z;
  for (const auto& layer : m.network.decoder_hidden) g = activate(m.network.activation, dense(p, layer, g));
  return dense(p, m.network.decoder_output, g);
}

struct SampleTerms {
  Posterior posterior;
  torch::Tensor log_px;      // [rows, K]
  torch::Tensor log_weight;  // [rows, K]
};

// log p(x|z), and log w = log p(x|z) + log p(z) - log q(z|x), for z = mu + exp(lv/2) eps.
SampleTerms sample_terms(const vae_model& m, const torch::Tensor& p, const torch::Tensor& x, const torch::Tensor& eps) {
  const auto& n = m.network;
  int64_t rows = eps.size(0), k = eps.size(1), d = n.latent_size, f = n.input_size;
  auto q = encode(m, p, x);
  auto sigma = torch::exp(0.5 * q.log_variance);
  auto z = q.mean.unsqueeze(1) + sigma.unsqueeze(1) * eps;  // [rows, K, D]
  auto o = decode(m, p, z.reshape({rows * k, d})).view({rows, k, f});
  auto xs = x.unsqueeze(1);

  torch::Tensor log_px;
  if (n.decoder == VAE_DECODER_BERNOULLI) {
    log_px = (xs * o - torch::softplus(o)).sum(-1);
  } else if (n.decoder_log_variance_offset >= 0) {
    auto log_variance = p.narrow(0, n.decoder_log_variance_offset, f);
    auto quadratic = ((xs - o).square() * torch::exp(-log_variance)).sum(-1);
    log_px = -0.5 * (quadratic + log_variance.sum() + f * kLogTwoPi);
  } else {
    double variance = n.decoder_variance;
    log_px = -0.5 * ((xs - o).square().sum(-1) / variance + f * (std::log(variance) + kLogTwoPi));
  }
  auto log_pz = -0.5 * (z.square().sum(-1) + d * kLogTwoPi);
  auto log_qz = -0.5 * (eps.square().sum(-1) + q.log_variance.sum(-1, /*keepdim=*/true) + d * kLogTwoPi);
  return {q, log_px, log_px + log_pz - log_qz};
}

// Per-row L_K = logmeanexp_k log w, or with the analytic KL the ELBO mean_k log p(x|z_k) - KL(q || N(0, I)).
torch::Tensor row_bounds(const SampleTerms& t, bool analytic_kl) {
  if (analytic_kl) {
    const auto& q = t.posterior;
    auto kl = 0.5 * (q.mean.square() + torch::exp(q.log_variance) - 1 - q.log_variance).sum(-1);
    return t.log_px.mean(1) - kl;
  }
  return torch::logsumexp(t.log_weight, {1}) - std::log(static_cast<double>(t.log_weight.size(1)));
}

// Bounds and the gradient of -mean(bounds) with respect to the flat parameters.
std::pair<torch::Tensor, torch::Tensor> bounds_and_gradient(vae_model& m, const float* x, int32_t rows,
                                                            const float* noise, int32_t samples, int32_t analytic_kl) {
  check_batch(x, rows, noise, samples);
  require(!analytic_kl || samples == 1, "analytic_kl needs samples = 1 (got " + std::to_string(samples) + ")");
  torch::AutoGradMode enable(true);
  auto xt = to_device(m, x, {rows, m.network.input_size});
  auto eps = to_device(m, noise, {rows, samples, m.network.latent_size});
  auto bounds = row_bounds(sample_terms(m, m.parameters, xt, eps), analytic_kl != 0);
  auto gradient = torch::autograd::grad({-bounds.mean()}, {m.parameters})[0];
  return {bounds, gradient};
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

VAE_API int32_t vae_model_create(const vae_architecture* architecture, const char* device, vae_model** model) {
  return guarded([&] {
    require(model != nullptr, "model is null");
    *model = nullptr;
    auto network = checked_network(architecture);
    auto target = checked_device(device);
    auto options = torch::TensorOptions().dtype(torch::kFloat32).device(target);
    auto parameters = torch::zeros({network.parameter_count}, options).requires_grad_(true);
    auto first = torch::zeros({network.parameter_count}, options);
    auto second = torch::zeros({network.parameter_count}, options);
    *model = new vae_model{std::move(network), target, parameters, first, second};
  });
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
                                   int32_t analytic_kl, float* row_bounds_out, float* gradient_out) {
  return guarded([&] {
    auto& m = checked(model);
    require(row_bounds_out != nullptr && gradient_out != nullptr, "row_bounds or gradient is null");
    auto [bounds, gradient] = bounds_and_gradient(m, x, rows, noise, samples, analytic_kl);
    copy_out(bounds, row_bounds_out);
    copy_out(gradient, gradient_out);
  });
}

VAE_API int32_t vae_model_train_step(vae_model* model, const float* x, int32_t rows, const float* noise,
                                     int32_t samples, int32_t analytic_kl, const vae_adam* adam,
                                     float* row_bounds_out) {
  return guarded([&] {
    auto& m = checked(model);
    require(adam != nullptr && row_bounds_out != nullptr, "adam or row_bounds is null");
    require(adam->step >= 1, "the Adam step count starts at 1 (got " + std::to_string(adam->step) + ")");
    auto [bounds, gradient] = bounds_and_gradient(m, x, rows, noise, samples, analytic_kl);
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
    copy_out(q.mean, mean);
    copy_out(q.log_variance, log_variance);
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
    copy_out(sample_terms(m, m.parameters, xt, eps).log_weight, log_weights);
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
