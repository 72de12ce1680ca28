# Decides whether the shim captures the device loop's step in CUDA graphs (src/step_graph.cpp) and, if so, adds the
# CUDA runtime headers that libtorch's CUDA headers include and defines VAE_CUDA_GRAPHS on target vae_torch.
#   -DVAE_CUDA_GRAPHS=AUTO (default)  on for a CUDA libtorch whose CUDA headers (cuda.h, cuda_runtime_api.h) are found
#   -DVAE_CUDA_GRAPHS=ON              the same, but a build that cannot have them fails
#   -DVAE_CUDA_GRAPHS=OFF             every step runs eagerly
# (A value given once stays in the build folder's CMake cache until another is given.)
# The headers are looked for in CUDA_HOME, CUDA_PATH, /usr/local/cuda and, for a PyTorch wheel, in the NVIDIA wheels
# beside it (site-packages/nvidia/cu13/include, nvidia/cuda_runtime/include, ...). Nothing is linked beyond libtorch's
# own CUDA libraries.

set(VAE_CUDA_GRAPHS AUTO CACHE STRING "Capture the device loop's training step in CUDA graphs: AUTO, ON or OFF")
set_property(CACHE VAE_CUDA_GRAPHS PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${VAE_CUDA_GRAPHS}" _vae_graphs)
if(NOT _vae_graphs MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "VAE_CUDA_GRAPHS is '${VAE_CUDA_GRAPHS}': use AUTO, ON or OFF.")
endif()

set(_vae_graphs_reason "")
if(_vae_graphs STREQUAL "OFF")
  set(_vae_graphs_reason "VAE_CUDA_GRAPHS=OFF")
elseif(NOT VAE_TORCH_CUDA)
  set(_vae_graphs_reason "libtorch has no CUDA libraries")
else()
  get_filename_component(_vae_site_packages "${VAE_TORCH_INCLUDE_DIR}/../.." ABSOLUTE)
  file(GLOB _vae_wheel_includes "${_vae_site_packages}/nvidia/*/include")
  set(_vae_cuda_hints "$ENV{CUDA_HOME}/include" "$ENV{CUDA_PATH}/include" /usr/local/cuda/include ${_vae_wheel_includes})
  find_path(_vae_cuda_h NAMES cuda.h HINTS ${_vae_cuda_hints} NO_CACHE)
  find_path(_vae_cuda_runtime_h NAMES cuda_runtime_api.h HINTS ${_vae_cuda_hints} NO_CACHE)
  if(NOT _vae_cuda_h OR NOT _vae_cuda_runtime_h)
    set(_vae_graphs_reason "the CUDA headers cuda.h and cuda_runtime_api.h were not found (set CUDA_HOME to a CUDA toolkit, or pip install nvidia-cuda-runtime beside torch)")
  endif()
endif()

if(_vae_graphs_reason STREQUAL "")
  target_include_directories(vae_torch SYSTEM PRIVATE "${_vae_cuda_h}" "${_vae_cuda_runtime_h}")
  target_compile_definitions(vae_torch PRIVATE VAE_CUDA_GRAPHS)
  message(STATUS "CUDA graphs: on (CUDA headers ${_vae_cuda_runtime_h})")
elseif(_vae_graphs STREQUAL "ON")
  message(FATAL_ERROR "VAE_CUDA_GRAPHS=ON, but ${_vae_graphs_reason}.")
else()
  message(STATUS "CUDA graphs: off (${_vae_graphs_reason})")
endif()
