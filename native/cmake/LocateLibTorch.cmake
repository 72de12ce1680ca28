# Finds libtorch for the shim and defines the imported target vae::libtorch, VAE_TORCH_LIBRARY_DIR, VAE_TORCH_CUDA (ON
# for a CUDA libtorch) and VAE_TORCH_INCLUDE_DIR.
# Where, in this order:
#   LIBTORCH=<folder>           a libtorch folder (include/ and lib/), e.g. unzipped from pytorch.org
#   LIBTORCH_USE_PYTORCH=1      the torch package of PYTHON (default python3), e.g. a CUDA PyTorch wheel
#   otherwise                   the system's libtorch (Debian/Ubuntu: apt-get install libtorch-dev)
# LIBTORCH_CXX11_ABI=0|1 overrides the detected libstdc++ ABI of libtorch.
# libtorch's own CMake package is not used: a CUDA build of it demands the CUDA toolkit, which the shim never needs.

set(_vae_remedies "Remedies, any one of:
  - LIBTORCH=<a libtorch folder with include/ and lib/, e.g. unzipped from pytorch.org>
  - LIBTORCH_USE_PYTORCH=1 to use the torch package of python3 (PYTHON=<interpreter> chooses another python)
  - the system's libtorch (Debian/Ubuntu: apt-get install libtorch-dev)
then run eng/build-native.sh again (see docs/libtorch.md).")

set(_vae_root "")
if(NOT "$ENV{LIBTORCH}" STREQUAL "")
  set(_vae_root "$ENV{LIBTORCH}")
  set(_vae_source "LIBTORCH=$ENV{LIBTORCH}")
elseif("$ENV{LIBTORCH_USE_PYTORCH}" STREQUAL "1")
  set(_vae_python "$ENV{PYTHON}")
  if(_vae_python STREQUAL "")
    set(_vae_python python3)
  endif()
  execute_process(
    COMMAND "${_vae_python}" -c "import torch,os;print(os.path.dirname(torch.__file__))"
    OUTPUT_VARIABLE _vae_root ERROR_VARIABLE _vae_python_error RESULT_VARIABLE _vae_python_status
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _vae_python_status EQUAL 0)
    message(FATAL_ERROR "LIBTORCH_USE_PYTORCH=1, but '${_vae_python}' could not import torch:\n${_vae_python_error}\n${_vae_remedies}")
  endif()
  set(_vae_source "LIBTORCH_USE_PYTORCH=1 (${_vae_python}: ${_vae_root})")
else()
  set(_vae_source "the system's libtorch")
endif()

set(_vae_include_hints "")
set(_vae_library_hints "")
if(NOT _vae_root STREQUAL "")
  if(NOT IS_DIRECTORY "${_vae_root}")
    message(FATAL_ERROR "libtorch: ${_vae_source} is not a folder.\n${_vae_remedies}")
  endif()
  set(_vae_include_hints PATHS "${_vae_root}/include" NO_DEFAULT_PATH)
  set(_vae_library_hints PATHS "${_vae_root}/lib" NO_DEFAULT_PATH)
endif()

# NO_CACHE: a changed LIBTORCH is honoured on the next configure.
find_path(_vae_include NAMES torch/csrc/api/include/torch/torch.h ${_vae_include_hints} NO_CACHE)
find_library(_vae_torch NAMES torch ${_vae_library_hints} NO_CACHE)
find_library(_vae_torch_cpu NAMES torch_cpu ${_vae_library_hints} NO_CACHE)
find_library(_vae_c10 NAMES c10 ${_vae_library_hints} NO_CACHE)
foreach(_vae_required _vae_include _vae_torch _vae_torch_cpu _vae_c10)
  if(NOT ${_vae_required})
    message(FATAL_ERROR
      "libtorch was not found (looked in ${_vae_source}: headers torch/csrc/api/include/torch/torch.h, libraries torch, torch_cpu, c10).\n${_vae_remedies}")
  endif()
endforeach()
# A CUDA libtorch: link its CUDA libraries too, so that loading the shim loads them and registers CUDA with libtorch.
find_library(_vae_torch_cuda NAMES torch_cuda ${_vae_library_hints} NO_CACHE)
find_library(_vae_c10_cuda NAMES c10_cuda ${_vae_library_hints} NO_CACHE)

set(_vae_libraries "${_vae_torch}" "${_vae_torch_cpu}" "${_vae_c10}")
set(_vae_cuda "no")
if(_vae_torch_cuda AND _vae_c10_cuda)
  list(APPEND _vae_libraries "${_vae_torch_cuda}" "${_vae_c10_cuda}")
  set(_vae_cuda "yes")
endif()
get_filename_component(VAE_TORCH_LIBRARY_DIR "${_vae_torch}" DIRECTORY)
set(VAE_TORCH_INCLUDE_DIR "${_vae_include}")
if(_vae_cuda STREQUAL "yes")
  set(VAE_TORCH_CUDA ON)
else()
  set(VAE_TORCH_CUDA OFF)
endif()

add_library(vae::libtorch INTERFACE IMPORTED)
target_include_directories(vae::libtorch INTERFACE "${_vae_include}" "${_vae_include}/torch/csrc/api/include")
target_link_libraries(vae::libtorch INTERFACE ${_vae_libraries})
if(UNIX AND NOT APPLE)
  # Keep every libtorch library as a dependency even though the shim calls none of the CUDA ones directly.
  target_link_options(vae::libtorch INTERFACE "LINKER:--no-as-needed")
  # libtorch's C++ interface passes std::string: compile with the libstdc++ ABI libtorch was built with.
  if(NOT "$ENV{LIBTORCH_CXX11_ABI}" STREQUAL "")
    set(_vae_abi "$ENV{LIBTORCH_CXX11_ABI}")
  else()
    file(STRINGS "${_vae_c10}" _vae_cxx11_symbol REGEX "__cxx11" LIMIT_COUNT 1)
    if(_vae_cxx11_symbol)
      set(_vae_abi 1)
    else()
      set(_vae_abi 0)
    endif()
  endif()
  target_compile_definitions(vae::libtorch INTERFACE _GLIBCXX_USE_CXX11_ABI=${_vae_abi})
else()
  set(_vae_abi "n/a")
endif()
find_package(Threads REQUIRED)
target_link_libraries(vae::libtorch INTERFACE Threads::Threads)

message(STATUS "libtorch: ${_vae_source}")
message(STATUS "libtorch: headers ${_vae_include}, libraries ${VAE_TORCH_LIBRARY_DIR}, CUDA ${_vae_cuda}, CXX11 ABI ${_vae_abi}")
