// The calling thread's last error message, read by vae_last_error.

#include "shim.h"

#include <cstring>

namespace vae {

// A fixed buffer, so that recording an error can never fail or allocate.
thread_local char t_last_error[2048];

void set_error(const char* message) noexcept {
  std::strncpy(t_last_error, message, sizeof t_last_error - 1);
  t_last_error[sizeof t_last_error - 1] = '\0';
}

const char* last_error() noexcept { return t_last_error; }

}  // namespace vae
