// The device loop's training step (device_loop.cpp's train_step) captured in a CUDA graph once per batch shape (the
// full batches, the short last batch) and replayed for every later batch of that shape, across epochs. On a CPU, in a
// shim built without CUDA graphs (native/CMakeLists.txt, VAE_CUDA_GRAPHS), or with VAE_CUDA_GRAPHS=0 in the
// environment, the same train_step runs eagerly.
//
// A shape's first steps run eagerly on a side stream (the warm-up PyTorch asks for before capturing autograd: the
// backward pass, the caching allocator and cuBLAS set themselves up outside the capture); the next is captured on
// that stream into the graph's private memory pool. Capturing records without running, so the graph's first replay
// runs the captured batch. Warm-up steps are real steps: the results do not depend on when a shape is captured.

#include "shim.h"

#ifdef VAE_CUDA_GRAPHS

#include <ATen/cuda/CUDAGraph.h>
#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <cstdlib>

namespace vae {

struct StepGraph {
  c10::cuda::CUDAStream stream;  // the side stream of the warm-up and the capture
  int warmups;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
};

namespace {

constexpr int kWarmupSteps = 3;

// Runs body on side, after the work queued so far on the current stream and before the work queued on it next.
template <class Body>
void on_side_stream(const c10::cuda::CUDAStream& side, Body&& body) {
  c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(side.device_index());
  c10::Event queued(c10::DeviceType::CUDA);
  queued.record(current);
  queued.block(side);
  {
    c10::StreamGuard guard(side);
    body();
  }
  c10::Event done(c10::DeviceType::CUDA);
  done.record(side);
  done.block(current);
}

std::unique_ptr<at::cuda::CUDAGraph> capture(vae_model& m, DeviceLoop& loop, StepShape& shape) {
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  graph->capture_begin();
  try {
    train_step(m, loop, shape);
  } catch (...) {
    try {
      graph->capture_end();  // leaves the stream out of capture mode; the partial graph is dropped
    } catch (...) {
    }
    throw;
  }
  graph->capture_end();
  return graph;
}

}  // namespace

bool step_graphs_enabled(const torch::Device& device) {
  const char* setting = std::getenv("VAE_CUDA_GRAPHS");
  return device.is_cuda() && !(setting != nullptr && std::string(setting) == "0");
}

void run_step(vae_model& m, DeviceLoop& loop, StepShape& shape) {
  if (!loop.graphs) return train_step(m, loop, shape);
  if (!shape.graph) {
    auto side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, m.device.index());
    shape.graph = std::make_shared<StepGraph>(StepGraph{side, 0, nullptr});
  }
  auto& g = *shape.graph;
  if (!g.graph && g.warmups < kWarmupSteps) {
    on_side_stream(g.stream, [&] { train_step(m, loop, shape); });
    g.warmups++;
    return;
  }
  if (!g.graph) {
    try {
      on_side_stream(g.stream, [&] { g.graph = capture(m, loop, shape); });
    } catch (const c10::OutOfMemoryError&) {
      throw;
    } catch (const c10::Error& e) {
      throw std::runtime_error(
          std::string("capturing the training step in a CUDA graph failed; set the environment variable "
                      "VAE_CUDA_GRAPHS=0 to train without graphs. ") + e.what_without_backtrace());
    }
  }
  g.graph->replay();
}

}  // namespace vae

#else  // no CUDA graphs in this build: every step runs eagerly

namespace vae {

bool step_graphs_enabled(const torch::Device&) { return false; }

void run_step(vae_model& m, DeviceLoop& loop, StepShape& shape) { train_step(m, loop, shape); }

}  // namespace vae

#endif
