// What the shim's components share: the checked model, error handling, and each component's functions. One source
// file per component, named after the C# component it matches (docs/libtorch.md lists the pairs); exports.cpp holds
// the flat C interface of vae_torch.h.
//
// Only API present in both libtorch 1.13 and 2.x is used.
#ifndef VAE_SHIM_H
#define VAE_SHIM_H

#include "vae_torch.h"

#include <torch/types.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct vae_model;

namespace vae {

constexpr double kLogTwoPi = 1.8378770664093453;

// ---- errors.cpp: the thread-local message behind vae_last_error.

void set_error(const char* message) noexcept;
const char* last_error() noexcept;

// A bad argument from the caller, as opposed to a failure inside libtorch.
struct argument_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

inline void require(bool condition, const std::string& message) {
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
    // libtorch 1.x reports a failed host allocation as a plain error of its CPU allocator.
    bool host_memory = std::strstr(e.what_without_backtrace(), "DefaultCPUAllocator") != nullptr;
    return host_memory ? VAE_ERROR_OUT_OF_MEMORY : VAE_ERROR_TORCH;
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

// ---- model.cpp: the architecture checked against the managed engine's rules (ParameterLayout), devices, transfers.

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

Network checked_network(const vae_architecture* a);
torch::Device checked_device(const char* name);
vae_model& checked(vae_model* model);
void check_batch(const float* x, int32_t rows, const float* noise, int32_t samples);
// The objective's settings, checked against the model and the sample count (the managed engine's rules).
vae_objective checked_objective(const vae_model& m, const vae_objective* o, int32_t samples);
// The caller's host array as a tensor on the device, in the model's precision. On the CPU a float32 model aliases
// the caller's memory, which is only read.
torch::Tensor to_device(const vae_model& m, const float* data, std::vector<int64_t> shape);
void copy_out(const torch::Tensor& source, float* target);

// ---- dense_stack.cpp: the encoder and decoder MLPs.

struct Posterior {
  torch::Tensor mean;          // [rows, D]; the logits of categorical latents
  torch::Tensor log_variance;  // [rows, D]; undefined for categorical latents
};

Posterior encode(const vae_model& m, const torch::Tensor& p, const torch::Tensor& x);
// Decoder output o: logits (Bernoulli) or means (Gaussian).
torch::Tensor decode(const vae_model& m, const torch::Tensor& p, const torch::Tensor& z);

// ---- observation_likelihood.cpp: log p(x|z) of the Bernoulli and Gaussian decoders.

torch::Tensor log_likelihood(const vae_model& m, const torch::Tensor& p, const torch::Tensor& x, const torch::Tensor& o);
torch::Tensor decoded_log_likelihood(const vae_model& m, const torch::Tensor& p, const torch::Tensor& x,
                                     const torch::Tensor& z);

// ---- priors.cpp: standard, learned Gaussian and VampPrior.

// A diagonal Gaussian mixture (1/C) sum_c N(means_c, diag exp(log_variances_c)): the one form of every Gaussian prior.
struct Mixture {
  torch::Tensor means;          // [C, D]
  torch::Tensor log_variances;  // [C, D]
};

Mixture prior_mixture(const vae_model& m, const torch::Tensor& p);
std::shared_ptr<const Mixture> scoring_prior(vae_model& m);
void parameters_changed(vae_model& m);
torch::Tensor log_prior(const Mixture& prior, const torch::Tensor& z);

// ---- gumbel_softmax.cpp: categorical latents.

// Categorical latents as [rows, K, G, C]: log pi of the logits and the Gumbel-perturbed log probabilities.
struct CategoricalSample {
  torch::Tensor log_probabilities;  // [rows, 1, G, C], with the encoder's graph
  torch::Tensor perturbed;          // log pi + g, g = -log(-log u)
  torch::Tensor hard;               // one-hot(argmax(perturbed)), no graph
  torch::Tensor log_q;              // [rows, K]: log q(hard | x) = sum_g log pi_{g, h_g}, with the encoder's graph
};

CategoricalSample categorical_sample(const vae_model& m, const torch::Tensor& logits, const torch::Tensor& uniforms);
torch::Tensor categorical_kl(const torch::Tensor& log_probabilities);

// ---- gradient_estimators.cpp: bounds, the objectives' weights and the estimators' gradients.

// log w = log p(x, z) - log q(z|x) [rows, K], without a graph (scoring).
torch::Tensor log_weights(vae_model& m, const torch::Tensor& x, const torch::Tensor& noise);
// The per-row bound [rows] and the loss gradient [parameter_count] for a batch x [rows, F] and noise [rows, K, D]
// already on the model's device.
std::pair<torch::Tensor, torch::Tensor> bounds_and_gradient(vae_model& m, const torch::Tensor& x,
                                                            const torch::Tensor& noise, const vae_objective& o);

// ---- adam_optimizer.cpp

void adam_step(vae_model& m, const torch::Tensor& gradient, const vae_adam& s);

// ---- counter_random.cpp: the counter-based generator (Mathematics/CounterRandom.cs).

// The two 32-bit keys of (seed, stream, counter); every draw of that key is a function of its 64-bit element index.
struct CounterKey {
  uint32_t a;
  uint32_t b;
};

CounterKey counter_key(int32_t seed, int64_t stream, int64_t counter);
// 32 random bits per element index (int64 tensor), as int64 values in [0, 2^32).
torch::Tensor counter_bits(const CounterKey& key, const torch::Tensor& index);
// The same with one key per row of index ([rows, n]) given as int64 tensors key_a, key_b of shape [rows, 1].
torch::Tensor counter_bits(const torch::Tensor& key_a, const torch::Tensor& key_b, const torch::Tensor& index);
// Per-row keys [rows, 1] for the counters counter (int64 tensor [rows]) of (seed, stream).
std::pair<torch::Tensor, torch::Tensor> counter_keys(int32_t seed, int64_t stream, const torch::Tensor& counter);
// Uniform in [0, 1) with 24 bits, and standard normal (Box-Muller, cosine branch), as float32.
torch::Tensor counter_uniform(const torch::Tensor& bits);
torch::Tensor counter_normal(const torch::Tensor& bits);
// A permutation of 0..rows-1 as an int64 tensor on device: rows sorted by their bits, ties by index.
torch::Tensor counter_permutation(const CounterKey& key, int64_t rows, const torch::Device& device);

// ---- device_loop.cpp: training that stays on the device (Training/DeviceLoopTraining.cs).

// Fixed buffers: a step reads and writes only these (views of their first rows for a short batch), so a later
// CUDA-graph capture of the step finds its inputs at stable addresses.
struct DeviceLoop {
  vae_loop_settings settings;
  vae_objective objective;
  torch::Tensor data;           // [rows, F] the training rows
  torch::Tensor order;          // [rows] int64: the epoch's order
  torch::Tensor batch;          // [B, F]
  torch::Tensor noise;          // [B, K, D]
  torch::Tensor feature_index;  // [B * F] int64: element indices of the binarisation draws
  torch::Tensor noise_index;    // [B * K * D] int64: element indices of the noise draws
  torch::Tensor bound_sum;      // [] float64: row bounds summed since the last report
  int64_t last_rows = 0;        // rows of the last batch run (still in batch and noise)
};

void open_loop(vae_model& m, const vae_loop_settings& settings);
void upload_rows(vae_model& m, int64_t first_row, const float* rows, int64_t count);
void shuffle_rows(vae_model& m, int64_t epoch);
vae_loop_report run_batches(vae_model& m, int64_t first_batch, int32_t batch_count, int64_t first_step,
                            bool check_last_update);

// ---- device_scoring.cpp: log-likelihoods with the noise drawn on the device (VaeModel.LogLikelihood).

void device_log_likelihood(vae_model& m, const float* x, int32_t rows, int32_t samples, int32_t seed, int64_t stream,
                           int64_t first_counter, bool shared_noise, int32_t sample_rows, float* result);

}  // namespace vae

struct vae_model {
  vae_model(vae::Network n, torch::Device d, torch::Tensor p, torch::Tensor first, torch::Tensor second)
      : network(std::move(n)), device(d), parameters(std::move(p)), first_moment(std::move(first)),
        second_moment(std::move(second)) {}

  vae::Network network;
  torch::Device device;
  torch::Tensor parameters;  // flat, float32 (float64 for the reference model), on the device, requires grad
  torch::Tensor first_moment;
  torch::Tensor second_moment;
  // The prior of the current parameters for scoring (the VampPrior's is an encoder pass over its pseudo-inputs),
  // built on first use and dropped whenever the parameters change, so concurrent scoring calls share one.
  std::mutex prior_mutex;
  std::shared_ptr<const vae::Mixture> scoring_prior;
  // The device-resident training loop and its data, while one is open.
  std::unique_ptr<vae::DeviceLoop> loop;
};

#endif  // VAE_SHIM_H
