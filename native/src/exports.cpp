// The flat C interface of vae_torch.h: every export checks its arguments, runs guarded (no C++ exception crosses the
// interface) and leaves its message in the thread-local error buffer.

#include "shim.h"

#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <cmath>
#include <cstring>

using namespace vae;

// The C# side mirrors these structures field for field (Engine/LibTorch/NativeStructures.cs) and compares its sizes
// with vae_structure_sizes.
static_assert(sizeof(vae_dense_layer) == 24, "vae_dense_layer changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_architecture) == 176, "vae_architecture changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_adam) == 24, "vae_adam changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_objective) == 32, "vae_objective changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_loop_settings) == 96, "vae_loop_settings changed: raise VAE_ABI_VERSION");
static_assert(sizeof(vae_loop_report) == 32, "vae_loop_report changed: raise VAE_ABI_VERSION");

namespace {

std::pair<torch::Tensor, torch::Tensor> host_batch_gradient(vae_model& m, const float* x, int32_t rows,
                                                            const float* noise, int32_t samples,
                                                            const vae_objective& settings) {
  check_batch(x, rows, noise, samples);
  return bounds_and_gradient(m, to_device(m, x, {rows, m.network.input_size}),
                             to_device(m, noise, {rows, samples, m.network.latent_size}), settings);
}

// Draws of the generator into a host array: on the CPU, the tensor of draws is written straight into it.
template <class Draw>
void random_draws(int32_t seed, int64_t stream, int64_t counter, int64_t first_index, int64_t count, Draw&& draw) {
  require(count >= 1 && first_index >= 0, "count must be at least 1 and first_index not negative");
  auto index = torch::arange(first_index, first_index + count, torch::TensorOptions().dtype(torch::kInt64));
  draw(counter_bits(counter_key(seed, stream, counter), index));
}

// Uniforms or normals (transform of the bits) into a host array.
int32_t random_floats(int32_t seed, int64_t stream, int64_t counter, int64_t first_index, int64_t count, float* values,
                      torch::Tensor (*transform)(const torch::Tensor&)) {
  return guarded([&] {
    require(values != nullptr, "values is null");
    random_draws(seed, stream, counter, first_index, count,
                 [&](const torch::Tensor& drawn) { copy_out(transform(drawn), values); });
  });
}

#define VAE_CONSTANT(name) {#name, name}
const std::pair<const char*, int32_t> kConstants[] = {
    VAE_CONSTANT(VAE_ACTIVATION_TANH), VAE_CONSTANT(VAE_ACTIVATION_RELU), VAE_CONSTANT(VAE_ACTIVATION_SOFTPLUS),
    VAE_CONSTANT(VAE_ACTIVATION_IDENTITY), VAE_CONSTANT(VAE_DECODER_BERNOULLI), VAE_CONSTANT(VAE_DECODER_GAUSSIAN),
    VAE_CONSTANT(VAE_LATENT_GAUSSIAN), VAE_CONSTANT(VAE_LATENT_CATEGORICAL), VAE_CONSTANT(VAE_PRIOR_STANDARD),
    VAE_CONSTANT(VAE_PRIOR_LEARNED_GAUSSIAN), VAE_CONSTANT(VAE_PRIOR_VAMP), VAE_CONSTANT(VAE_OBJECTIVE_IWAE),
    VAE_CONSTANT(VAE_OBJECTIVE_MIWAE), VAE_CONSTANT(VAE_OBJECTIVE_CIWAE), VAE_CONSTANT(VAE_OBJECTIVE_PIWAE),
    VAE_CONSTANT(VAE_ESTIMATOR_REPARAMETERIZATION), VAE_CONSTANT(VAE_ESTIMATOR_STICKING_THE_LANDING),
    VAE_CONSTANT(VAE_ESTIMATOR_DOUBLY_REPARAMETERIZED), VAE_CONSTANT(VAE_ESTIMATOR_SCORE_FUNCTION),
    VAE_CONSTANT(VAE_OK), VAE_CONSTANT(VAE_ERROR_ARGUMENT), VAE_CONSTANT(VAE_ERROR_TORCH),
    VAE_CONSTANT(VAE_ERROR_OUT_OF_MEMORY), VAE_CONSTANT(VAE_ERROR_UNKNOWN), VAE_CONSTANT(VAE_ABI_VERSION)};
#undef VAE_CONSTANT

#define VAE_STRUCTURE(name) {#name, static_cast<int64_t>(sizeof(name))}
const std::pair<const char*, int64_t> kStructures[] = {
    VAE_STRUCTURE(vae_dense_layer), VAE_STRUCTURE(vae_architecture), VAE_STRUCTURE(vae_adam),
    VAE_STRUCTURE(vae_objective),   VAE_STRUCTURE(vae_loop_settings), VAE_STRUCTURE(vae_loop_report)};
#undef VAE_STRUCTURE

template <class Table, class Value>
void look_up(const Table& table, const char* name, Value* value, const char* what) {
  require(name != nullptr && value != nullptr, "name or value is null");
  for (const auto& entry : table) {
    if (std::strcmp(entry.first, name) == 0) {
      *value = entry.second;
      return;
    }
  }
  throw argument_error(std::string("'") + name + "' is not a " + what + " of vae_torch.h");
}

}  // namespace

extern "C" {

VAE_API int32_t vae_abi_version(void) { return VAE_ABI_VERSION; }

VAE_API const char* vae_last_error(void) { return last_error(); }

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
    auto [bounds, gradient] = host_batch_gradient(m, x, rows, noise, samples, settings);
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
    auto [bounds, gradient] = host_batch_gradient(m, x, rows, noise, samples, settings);
    auto step = torch::full({}, adam->step, torch::TensorOptions().dtype(torch::kInt64).device(m.device));
    adam_step(m, gradient, AdamRates{adam->learning_rate, adam->beta1, adam->beta2, adam->epsilon}, step);
    parameters_changed(m);
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
    copy_out(vae::log_weights(m, xt, eps), log_weights);
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

VAE_API int32_t vae_loop_open(vae_model* model, const vae_loop_settings* settings) {
  return guarded([&] {
    auto& m = checked(model);
    require(settings != nullptr, "settings is null");
    open_loop(m, *settings);
  });
}

VAE_API int32_t vae_loop_upload(vae_model* model, int64_t first_row, const float* rows, int64_t count) {
  return guarded([&] { upload_rows(checked(model), first_row, rows, count); });
}

VAE_API int32_t vae_loop_shuffle(vae_model* model, int64_t epoch) {
  return guarded([&] { shuffle_rows(checked(model), epoch); });
}

VAE_API int32_t vae_loop_run(vae_model* model, int64_t first_batch, int32_t batch_count, int64_t first_step,
                             int32_t check_last_update, vae_loop_report* report) {
  return guarded([&] {
    auto& m = checked(model);
    require(report != nullptr, "report is null");
    *report = run_batches(m, first_batch, batch_count, first_step, check_last_update != 0);
  });
}

VAE_API int32_t vae_loop_close(vae_model* model) {
  return guarded([&] { checked(model).loop.reset(); });
}

VAE_API int32_t vae_model_log_likelihood(vae_model* model, const float* x, int32_t rows, int32_t samples, int32_t seed,
                                         int64_t stream, int64_t first_counter, int32_t shared_noise,
                                         int32_t sample_rows, float* log_likelihood) {
  return guarded([&] {
    device_log_likelihood(checked(model), x, rows, samples, seed, stream, first_counter, shared_noise != 0, sample_rows,
                          log_likelihood);
  });
}

VAE_API int32_t vae_random_bits(int32_t seed, int64_t stream, int64_t counter, int64_t first_index, int64_t count,
                                uint32_t* bits) {
  return guarded([&] {
    require(bits != nullptr, "bits is null");
    random_draws(seed, stream, counter, first_index, count, [&](const torch::Tensor& drawn) {
      auto words = drawn.to(torch::kInt32);  // the low 32 bits, as the uint32 values' bit patterns
      std::memcpy(bits, words.data_ptr<int32_t>(), sizeof(uint32_t) * count);
    });
  });
}

VAE_API int32_t vae_random_uniform(int32_t seed, int64_t stream, int64_t counter, int64_t first_index, int64_t count,
                                   float* values) {
  return random_floats(seed, stream, counter, first_index, count, values, counter_uniform);
}

VAE_API int32_t vae_random_normal(int32_t seed, int64_t stream, int64_t counter, int64_t first_index, int64_t count,
                                  float* values) {
  return random_floats(seed, stream, counter, first_index, count, values, counter_normal);
}

VAE_API int32_t vae_random_permutation(int32_t seed, int64_t stream, int64_t counter, int64_t rows, int64_t* order) {
  return guarded([&] {
    require(order != nullptr, "order is null");
    auto drawn = counter_permutation(counter_key(seed, stream, counter), rows, torch::Device(torch::kCPU));
    std::memcpy(order, drawn.data_ptr<int64_t>(), sizeof(int64_t) * rows);
  });
}

VAE_API int32_t vae_constant(const char* name, int32_t* value) {
  return guarded([&] { look_up(kConstants, name, value, "constant"); });
}

VAE_API int32_t vae_structure_size(const char* name, int64_t* size) {
  return guarded([&] { look_up(kStructures, name, size, "structure"); });
}

}  // extern "C"

