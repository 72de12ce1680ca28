// Adam with bias correction, in the order of the managed engine's AdamOptimizer.

#include "shim.h"

#include <cmath>

namespace vae {

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

}  // namespace vae
