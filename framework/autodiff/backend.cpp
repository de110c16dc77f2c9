// The backend's identity and threads, from the kernels (which the layers above never see).
#include "autodiff/backend.hpp"

#include "kernels/kernels.hpp"

namespace kant::backend {

std::string version() { return kernels::onednn_version(); }
std::string isa() { return kernels::cpu_isa(); }
void set_threads(int threads) { kernels::set_threads(threads); }

}  // namespace kant::backend
