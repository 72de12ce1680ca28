// The encoder and decoder MLPs y = act(x W + b) over views of the flat parameter vector (the managed engine's
// dense layers and Activations).

#include "shim.h"

namespace vae {

namespace {

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

}  // namespace

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

}  // namespace vae
