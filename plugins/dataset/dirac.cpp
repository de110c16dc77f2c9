// Dataset `dirac`: all probability mass at one point (the Dirac-GAN's data distribution,
// Mescheder et al. 2018, where the point is 0).
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Dirac : public Dataset {
 public:
  struct Options {
    float at;
    int64_t dim;
    static void declare(Declare<Options>& d) {
      d(&Options::at, param::real("at", 0.0, "the point (every coordinate)"));
      d(&Options::dim, param::integer("dim", 1, "dimension of the data").at_least(1));
    }
  };
  Dirac(const Options& o, uint64_t) : at_(o.at), dim_(o.dim) {}
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

KANT_COMPONENT(Dirac, "dirac", "1.0.0",
               "all mass at one point (Dirac-GAN data, Mescheder et al. 2018)")
