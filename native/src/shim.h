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

// Adam's settings but its step count, which comes as a tensor.
struct AdamRates {
  float learning_rate;
  float beta1;
  float beta2;
  float epsilon;
};

// One update of the parameters and moments; step is an int64 tensor [] on the model's device, 1 for the first step.
// Callers mark the parameters changed (parameters_changed) afterwards.
void adam_step(vae_model& m, const torch::Tensor& gradient, const AdamRates& s, const torch::Tensor& step);

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

struct StepGraph;

// The fixed-shape buffers of one batch shape (the full batches, or the short last batch): its step reads and writes
// only these and the loop's tensors, so a CUDA graph captured for the shape finds them at the same addresses.
struct StepShape {
  int64_t rows = 0;
  torch::Tensor offsets;        // [rows] int64: 0 .. rows - 1, the rows after the batch's position in the order
  torch::Tensor batch;          // [rows, F]
  torch::Tensor noise;          // [rows, K, D]
  torch::Tensor feature_index;  // [1, rows * F] int64: element indices of the binarisation draws
  torch::Tensor noise_index;    // [1, rows * K * D] int64: element indices of the noise draws
  std::shared_ptr<StepGraph> graph;  // step_graph.cpp: its warm-up count and captured graph (CUDA builds)
};

// Everything a step changes from one batch to the next is a tensor on the device that the step itself advances (the
// step count, the position in the order, the bound sum); the host sets the step count and position only when a run
// of batches begins (vae_loop_run) and the order only when an epoch begins (vae_loop_shuffle).
struct DeviceLoop {
  vae_loop_settings settings;
  vae_objective objective;
  bool graphs = false;          // capture and replay the step in CUDA graphs (step_graph.cpp)
  torch::Tensor data;           // [rows, F] the training rows
  torch::Tensor order;          // [rows] int64: the epoch's order, rewritten in place by each shuffle
  torch::Tensor step;           // [] int64: the Adam step of the next batch (keys its binarisation and noise)
  torch::Tensor position;       // [] int64: the next batch's first position in order
  torch::Tensor bound_sum;      // [] float64: row bounds summed since the last report
  StepShape full;               // batches of batch_size rows
  std::unique_ptr<StepShape> short_batch;  // the epoch's last batch when batch_size does not divide the rows
  const StepShape* last_run = nullptr;     // the shape of the last batch run (its batch and noise still hold it)
};

void open_loop(vae_model& m, const vae_loop_settings& settings);
void upload_rows(vae_model& m, int64_t first_row, const float* rows, int64_t count);
void shuffle_rows(vae_model& m, int64_t epoch);
vae_loop_report run_batches(vae_model& m, int64_t first_batch, int32_t batch_count, int64_t first_step,
                            bool check_last_update);
// The graph-ready step: gathers, binarises and draws the noise of the batch at the loop's position with the loop's
// step, trains it, adds its bounds to the bound sum and advances the step and position. Reads nothing from the host
// that changes between batches.
void train_step(vae_model& m, const DeviceLoop& loop, const StepShape& shape);

// ---- step_graph.cpp: the training step captured once per batch shape in a CUDA graph and replayed (CUDA builds).

// Whether a loop on device captures its step: a CUDA device, a shim built with VAE_CUDA_GRAPHS, and the environment
// variable VAE_CUDA_GRAPHS not "0".
bool step_graphs_enabled(const torch::Device& device);
// One batch of shape's rows: train_step, run eagerly, or replayed from the shape's graph once it is captured.
void run_step(vae_model& m, DeviceLoop& loop, StepShape& shape);

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
