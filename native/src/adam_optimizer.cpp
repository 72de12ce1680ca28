// Adam with bias correction, operation for operation the managed engine's AdamOptimizer (each product and sum
// rounded to float as it is there, no fused multiply-add). The step count is an int64 tensor on the model's device,
// so a CUDA graph of the training step replays with the step it finds there instead of one baked in at capture.

#include "shim.h"

namespace vae {

void adam_step(vae_model& m, const torch::Tensor& gradient, const AdamRates& s, const torch::Tensor& step) {
  torch::NoGradGuard no_grad;
  auto type = m.parameters.scalar_type();
  // beta^step in double, rounded once to the parameters' precision (docs/libtorch.md: where it differs from MathF.Pow).
  auto exponent = step.to(torch::kFloat64);
  auto first_power = torch::pow(static_cast<double>(s.beta1), exponent).to(type);
  auto second_power = torch::pow(static_cast<double>(s.beta2), exponent).to(type);
  auto second_correction = torch::reciprocal(torch::rsub(second_power, 1.0));
  // -lr / (1 - beta1^step) as one division, as the managed step size is.
  auto step_size = torch::full_like(first_power, -s.learning_rate).div_(torch::rsub(first_power, 1.0));
  // m*b1 + g*(1-b1) and v*b2 + (g*g)*(1-b2): each product rounded before the sum (add_ with an alpha would fuse).
  m.first_moment.mul_(s.beta1).add_(gradient * (1.0f - s.beta1));
  m.second_moment.mul_(s.beta2).add_(gradient.square() * (1.0f - s.beta2));
  auto denominator = (m.second_moment * second_correction).sqrt_().add_(s.epsilon);
  m.parameters.add_(m.first_moment.div(denominator).mul_(step_size));
}

}  // namespace vae
