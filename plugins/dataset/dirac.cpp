// Dataset `dirac`: all probability mass at one point (the Dirac-GAN's data distribution,
// Mescheder et al. 2018, where the point is 0).
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Dirac : public Dataset {
 public:
  Dirac(double at, int64_t dim) : at_(static_cast<float>(at)), dim_(dim) {}
  Shape sample_shape() const override { return {dim_}; }
  Tensor sample(int64_t n, Rng&) override { return Tensor::full({n, dim_}, at_); }
  std::optional<Modes> modes() const override {
    return Modes{{std::vector<double>(static_cast<size_t>(dim_), at_)}, 0.0};
  }

 private:
  float at_;
  int64_t dim_;
};

}  // namespace

KANT_PLUGIN("dirac", "1.0.0") {
  registrar.add({"dirac",
                 "1.0.0",
                 "all mass at one point (Dirac-GAN data, Mescheder et al. 2018)",
                 {param::real("at", 0.0, "the point (every coordinate)"),
                  param::integer("dim", 1, "dimension of the data").at_least(1)},
                 DatasetFactory([](const Params& p, uint64_t) {
                   return std::make_unique<Dirac>(p.real("at"), p.integer("dim"));
                 })});
}
