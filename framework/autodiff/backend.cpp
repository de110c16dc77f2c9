// The backend's identity, threads and product precision, from the kernels (which the layers above
// never see).
#include "autodiff/backend.hpp"

#include "kernels/kernels.hpp"

namespace kant::backend {

std::string version() { return kernels::onednn_version(); }
std::string isa() { return kernels::cpu_isa(); }
void set_threads(int threads) { kernels::set_threads(threads); }
bool native_bf16() { return kernels::native_bf16(); }

Bf16Products::Bf16Products(bool bf16)
    : before_(kernels::product_precision() == kernels::Precision::bf16) {
  kernels::set_product_precision(bf16 ? kernels::Precision::bf16 : kernels::Precision::fp32);
}
Bf16Products::~Bf16Products() {
  kernels::set_product_precision(before_ ? kernels::Precision::bf16 : kernels::Precision::fp32);
}

}  // namespace kant::backend
