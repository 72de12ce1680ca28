/*
 * vae_torch: the flat C interface of the libtorch engine of Microsoft.ML.Vae.
 *
 * Conventions
 * - Every function returns a status (VAE_OK or a VAE_ERROR_* code); on an error, vae_last_error() returns the
 *   message on the calling thread until that thread's next failing call. No C++ exception crosses this interface.
 * - A vae_model is opaque; create it with vae_model_create and free it with vae_model_destroy.
 * - Arrays are row-major float32 on the host; every call copies whole batches in and out once.
 * - The device loop (vae_loop_*) keeps the training rows on the device and draws everything random there with the
 *   counter-based generator (vae_random_*), which the C# side reproduces bit for bit (Mathematics/CounterRandom.cs).
 * - Layouts and the mathematics are those of docs/design.md; the parameter offsets come from the caller
 *   (ParameterLayout on the C# side), so every engine shares one flat parameter vector.
 */
#ifndef VAE_TORCH_H
#define VAE_TORCH_H

#include <stdint.h>

#if defined(_WIN32)
#if defined(VAE_TORCH_BUILDING)
#define VAE_API __declspec(dllexport)
#else
#define VAE_API __declspec(dllimport)
#endif
#else
#define VAE_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Raised whenever a signature, a structure or a meaning below changes; the C# side refuses any other version. */
#define VAE_ABI_VERSION 4

#define VAE_OK 0
#define VAE_ERROR_ARGUMENT 1      /* a bad argument: a null pointer, an inconsistent layout, an unknown device */
#define VAE_ERROR_TORCH 2         /* libtorch reported an error */
#define VAE_ERROR_OUT_OF_MEMORY 3 /* host or device memory ran out */
#define VAE_ERROR_UNKNOWN 4       /* any other C++ exception */

#define VAE_ACTIVATION_TANH 0
#define VAE_ACTIVATION_RELU 1
#define VAE_ACTIVATION_SOFTPLUS 2
#define VAE_ACTIVATION_IDENTITY 3

#define VAE_DECODER_BERNOULLI 0
#define VAE_DECODER_GAUSSIAN 1

#define VAE_LATENT_GAUSSIAN 0
#define VAE_LATENT_CATEGORICAL 1 /* latent_size = variables x category_count one-hot values; uniform prior */

#define VAE_PRIOR_STANDARD 0
#define VAE_PRIOR_LEARNED_GAUSSIAN 1 /* N(prior.mu, diag exp(prior.logvar)) */
#define VAE_PRIOR_VAMP 2             /* (1/C) sum_c q(z | pseudo-input c) */

#define VAE_OBJECTIVE_IWAE 0
#define VAE_OBJECTIVE_MIWAE 1
#define VAE_OBJECTIVE_CIWAE 2
#define VAE_OBJECTIVE_PIWAE 3

#define VAE_ESTIMATOR_REPARAMETERIZATION 0
#define VAE_ESTIMATOR_STICKING_THE_LANDING 1
#define VAE_ESTIMATOR_DOUBLY_REPARAMETERIZED 2
#define VAE_ESTIMATOR_SCORE_FUNCTION 3

typedef struct vae_model vae_model;

/* A dense layer y = x W + b: W is [inputs, outputs] at weight_offset, b is [outputs] at bias_offset. */
typedef struct vae_dense_layer {
  int64_t weight_offset;
  int64_t bias_offset;
  int32_t inputs;
  int32_t outputs;
} vae_dense_layer;

/* The network and its place in the flat parameter vector. */
typedef struct vae_architecture {
  int64_t parameter_count;
  const vae_dense_layer* encoder_hidden; /* encoder_hidden_count layers, input side first */
  const vae_dense_layer* decoder_hidden; /* decoder_hidden_count layers, latent side first */
  vae_dense_layer encoder_mean;         /* the mean head, or the logits head of categorical latents */
  vae_dense_layer encoder_log_variance; /* Gaussian latents only (ignored for categorical latents) */
  vae_dense_layer decoder_output;
  int64_t decoder_log_variance_offset; /* [input_size] learned log sigma^2, or -1 for the fixed variance */
  int32_t encoder_hidden_count;
  int32_t decoder_hidden_count;
  int32_t input_size;
  int32_t latent_size;
  int32_t activation;      /* VAE_ACTIVATION_* */
  int32_t decoder;         /* VAE_DECODER_* */
  float decoder_variance;  /* the fixed sigma^2 of the Gaussian decoder */
  int32_t latent;          /* VAE_LATENT_* */
  int32_t category_count;  /* classes per categorical variable; 1 for Gaussian latents */
  int32_t prior;           /* VAE_PRIOR_* (VAE_PRIOR_STANDARD for categorical latents: the uniform prior) */
  int32_t pseudo_input_count;        /* VampPrior: components C; 0 otherwise */
  int32_t reserved;                  /* 0 */
  int64_t prior_mean_offset;         /* learned Gaussian prior: [latent_size], else -1 */
  int64_t prior_log_variance_offset; /* learned Gaussian prior: [latent_size], else -1 */
  int64_t pseudo_input_offset;       /* VampPrior: [pseudo_input_count, input_size], else -1 */
} vae_architecture;

/* One Adam step; step is 1 for the first step (it drives the bias correction). */
typedef struct vae_adam {
  float learning_rate;
  float beta1;
  float beta2;
  float epsilon;
  int64_t step;
} vae_adam;

/*
 * What a gradient or training call optimises (docs/estimators.md): the objective, its gradient estimator and, for
 * categorical latents, the Gumbel-Softmax settings. The plain IWAE bound is objective IWAE, estimator
 * REPARAMETERIZATION, analytic_kl 0.
 */
typedef struct vae_objective {
  int32_t objective;        /* VAE_OBJECTIVE_* */
  int32_t groups;           /* MIWAE and PIWAE: groups M of the samples (M divides samples); ignored otherwise */
  float ciwae_beta;         /* CIWAE: the weight of the ELBO, in [0, 1] */
  int32_t estimator;        /* VAE_ESTIMATOR_* */
  float score_baseline;     /* score function: the baseline c; NaN: per row, the mean IWAE bound of the other rows */
  float temperature;        /* categorical latents: the Gumbel-Softmax temperature, > 0 */
  int32_t straight_through; /* categorical latents: the decoder sees the hard sample, the gradient the relaxed one */
  int32_t analytic_kl;      /* samples = 1, IWAE, reparameterisation, standard prior: the ELBO with the closed-form KL */
} vae_objective;

VAE_API int32_t vae_abi_version(void);

/* The calling thread's last error message ("" if none); owned by the library. */
VAE_API const char* vae_last_error(void);

/* The libtorch version the library was built against, e.g. "1.13.0"; owned by the library. */
VAE_API const char* vae_torch_version(void);

/* CUDA devices libtorch can use (0 for a CPU-only libtorch or a machine without a GPU). */
VAE_API int32_t vae_cuda_device_count(int32_t* count);

/* libtorch's intra-op CPU threads (process-wide). */
VAE_API int32_t vae_set_num_threads(int32_t threads);

/* device: "cpu" or "cuda:N". Parameters start at zero; Adam state at zero. */
VAE_API int32_t vae_model_create(const vae_architecture* architecture, const char* device, vae_model** model);

/* As vae_model_create, but the model computes in float64 (inputs and results still cross as float32): the exact
 * reference whose distance from the float32 engines measures their rounding error in the parity tests. */
VAE_API int32_t vae_model_create_float64(const vae_architecture* architecture, const char* device, vae_model** model);

/* Frees the model; null is allowed. */
VAE_API void vae_model_destroy(vae_model* model);

/* Replaces the parameters and resets the Adam state. */
VAE_API int32_t vae_model_set_parameters(vae_model* model, const float* parameters, int64_t count);

VAE_API int32_t vae_model_get_parameters(vae_model* model, float* parameters, int64_t count);

/*
 * x [rows, input_size], noise [rows, samples, latent_size]: standard normal draws (Gaussian latents) or uniform draws
 * in (0, 1) (categorical latents, turned into Gumbel noise here). Writes the per-row bound of the objective
 * (row_bounds [rows]) and the loss gradient of docs/estimators.md, the loss being -(1/rows) sum of the bounds
 * (gradient [parameter_count]).
 */
VAE_API int32_t vae_model_gradient(vae_model* model, const float* x, int32_t rows, const float* noise, int32_t samples,
                                   const vae_objective* objective, float* row_bounds, float* gradient);

/* As vae_model_gradient, then one Adam step on the device; row_bounds are those before the step. */
VAE_API int32_t vae_model_train_step(vae_model* model, const float* x, int32_t rows, const float* noise,
                                     int32_t samples, const vae_objective* objective, const vae_adam* adam,
                                     float* row_bounds);

/* Posterior mean and log-variance, each [rows, latent_size]; for categorical latents the class probabilities and
 * log(p (1 - p)). Safe to call from several threads at once. */
VAE_API int32_t vae_model_encode(vae_model* model, const float* x, int32_t rows, float* mean, float* log_variance);

/* log p(x, z) - log q(z | x) per sample, [rows, samples]; categorical latents use hard one-hot samples (Gumbel-max)
 * and exact probabilities. Safe to call from several threads at once. */
VAE_API int32_t vae_model_log_weights(vae_model* model, const float* x, int32_t rows, const float* noise,
                                      int32_t samples, float* log_weights);

/* Decoder output for z [rows, latent_size]: probabilities (Bernoulli) or means (Gaussian), [rows, input_size].
 * Safe to call from several threads at once. */
VAE_API int32_t vae_model_decode(vae_model* model, const float* z, int32_t rows, float* output);

/*
 * The device-resident training loop: the training rows live on the model's device; each epoch's order, dynamic
 * binarisation and the latent noise come from the counter-based generator, keyed by (seed, stream, counter) with the
 * counter the epoch (shuffle) or the Adam step (binarisation, noise), and the element index within the batch
 * (row * input_size + feature, (row * samples + k) * latent_size + d). Gaussian latents only; not the
 * score-function estimator (its baseline is a host running mean).
 * On a CUDA device, in a shim built with CUDA graphs (VAE_CUDA_GRAPHS), each batch shape's training step is captured
 * in a CUDA graph after a few eager steps and replayed from then on; VAE_CUDA_GRAPHS=0 in the environment (read
 * when a loop opens) runs every step eagerly. Results do not depend on it.
 */
typedef struct vae_loop_settings {
  int64_t rows;                 /* training rows held on the device */
  int32_t batch_size;
  int32_t samples;              /* K */
  int32_t seed;
  int32_t dynamic_binarization; /* 1: each batch is binarised with fresh uniforms (Bernoulli decoder), 0: used as is */
  int64_t shuffle_stream;
  int64_t binarization_stream;
  int64_t noise_stream;
  vae_objective objective;
  float learning_rate;
  float beta1;
  float beta2;
  float epsilon;
} vae_loop_settings;

/* What vae_loop_run reads back, in one synchronisation at its end. */
typedef struct vae_loop_report {
  double bound_sum;            /* the row bounds of the batches run (each before its update), summed on the device */
  double parameter_sum;        /* the parameters after the last update, summed: not finite when one is not */
  double last_batch_bound_sum; /* check_last_update: the last batch's row bounds after its update (same noise); else 0 */
  int64_t rows;                /* rows in the batches run */
} vae_loop_report;

/* Opens the loop (replacing an open one): allocates the rows and the batch buffers on the model's device. */
VAE_API int32_t vae_loop_open(vae_model* model, const vae_loop_settings* settings);

/* Copies rows [first_row, first_row + count) of the training data (count x input_size floats) to the device. */
VAE_API int32_t vae_loop_upload(vae_model* model, int64_t first_row, const float* rows, int64_t count);

/* Draws the order of an epoch (on the device, no synchronisation). */
VAE_API int32_t vae_loop_shuffle(vae_model* model, int64_t epoch);

/* Runs batches [first_batch, first_batch + batch_count) of the epoch's order, the first taking Adam step first_step,
 * without synchronising until the report is read at the end. */
VAE_API int32_t vae_loop_run(vae_model* model, int64_t first_batch, int32_t batch_count, int64_t first_step,
                             int32_t check_last_update, vae_loop_report* report);

/* Frees the loop's rows and buffers; a model without an open loop is left as it is. */
VAE_API int32_t vae_loop_close(vae_model* model);

/*
 * IWAE log-likelihood estimates per row on the device: row r draws its K x latent_size normals from the generator
 * with key (seed, stream, first_counter + r), or (seed, stream, first_counter) for every row when shared_noise is 1,
 * element index k * latent_size + d. Computed in passes of at most sample_rows rows x samples, accumulated on the
 * device and read back once per group of rows. Gaussian latents only.
 */
VAE_API int32_t vae_model_log_likelihood(vae_model* model, const float* x, int32_t rows, int32_t samples, int32_t seed,
                                         int64_t stream, int64_t first_counter, int32_t shared_noise,
                                         int32_t sample_rows, float* log_likelihood);

/* The generator's draws for elements [first_index, first_index + count) of (seed, stream, counter), on the CPU:
 * bits (uint32), uniforms in [0, 1) and standard normals; and an epoch's order of rows (int64). For tests. */
VAE_API int32_t vae_random_bits(int32_t seed, int64_t stream, int64_t counter, int64_t first_index, int64_t count,
                                uint32_t* bits);
VAE_API int32_t vae_random_uniform(int32_t seed, int64_t stream, int64_t counter, int64_t first_index, int64_t count,
                                   float* values);
VAE_API int32_t vae_random_normal(int32_t seed, int64_t stream, int64_t counter, int64_t first_index, int64_t count,
                                  float* values);
VAE_API int32_t vae_random_permutation(int32_t seed, int64_t stream, int64_t counter, int64_t rows, int64_t* order);

/* The value of a VAE_* constant of this header by name (e.g. "VAE_PRIOR_VAMP"), so the binding's mappings are
 * checked against the shim; and sizeof of a structure by name (e.g. "vae_architecture"). */
VAE_API int32_t vae_constant(const char* name, int32_t* value);
VAE_API int32_t vae_structure_size(const char* name, int64_t* size);

#ifdef __cplusplus
}
#endif

#endif /* VAE_TORCH_H */
