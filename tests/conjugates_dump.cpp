// Prints every f-divergence's g_f(v) and f*(g_f(v)) with their derivatives, in double (the
// scalar forms) and in float (the tensor ops, derivatives by autodiff), for the values v read
// from a file (one C99 hex float per line). tests/conjugates_check.py compares them with
// mpmath. Output, one line per divergence and v, tab-separated hex floats:
//   name  v  g_double  F_double  g_float  F_float  dg_float  dF_float
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "kant/autodiff.hpp"
#include "kant/f_divergences.hpp"

using namespace kant;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: conjugates_dump GRID_FILE\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::vector<float> grid;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) grid.push_back(std::strtof(line.c_str(), nullptr));
  const int64_t n = static_cast<int64_t>(grid.size());
  for (const fgan::Divergence& d : fgan::divergences()) {
    Tensor v = Tensor::from({n}, grid).set_requires_grad();
    Tensor g = d.activation_t(v), f = d.conjugate_of_activation(v);
    Tensor dg = kant::grad({sum(g)}, {v})[0], df = kant::grad({sum(f)}, {v})[0];
    for (int64_t i = 0; i < n; ++i) {
      const double x = grid[static_cast<size_t>(i)];
      std::printf("%s\t%a\t%a\t%a\t%a\t%a\t%a\t%a\n", d.name, x, d.activation(x),
                  d.conjugate_of_activation_d(x), static_cast<double>(g.data()[i]),
                  static_cast<double>(f.data()[i]), static_cast<double>(dg.data()[i]),
                  static_cast<double>(df.data()[i]));
    }
  }
  return 0;
}
