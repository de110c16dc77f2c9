// Dataset `segment`: the vertical segment P = (a, Z), Z ~ U[0, 1], in the plane — WGAN's
// Example 1 (Arjovsky, Chintala & Bottou 2017, §2): against P_θ = (θ, Z) the supports are
// disjoint for θ ≠ a, so JS = log 2 and KL = ∞ whatever the distance |θ − a|, while W₁ = |θ − a|.
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Segment : public Dataset {
 public:
  struct Options {
    float at;
    static void declare(Declare<Options>& d) {
      d(&Options::at, param::real("at", 0.0, "a, the segment's abscissa"));
    }
  };
  Segment(const Options& o, uint64_t) : at_(o.at) {}
  Shape sample_shape() const override { return {2}; }
  // (a, u) with u ~ U[0, 1): one uniform per sample
  Tensor sample(int64_t n, Rng& rng) override {
    Tensor out = Tensor::empty({n, 2});
    for (int64_t i = 0; i < n; ++i) {
      out.data()[2 * i] = at_;
      out.data()[2 * i + 1] = rng.uniform();
    }
    return out;
  }

 private:
  float at_;
};

}  // namespace

KANT_COMPONENT(Segment, "segment", "1.0.0",
               "the vertical segment (a, Z), Z ~ U[0, 1] (WGAN Example 1, Arjovsky et al. 2017)")
