// kant latent: paths between codes, truncated codes, searched codes, code arithmetic and inversion
// of data samples on a finished cell's stored generator, stored into its file (runs/latent.hpp).
#include "runs/latent.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "kant/error.hpp"

namespace kant::cli {

Command add_latent(CLI::App& kant) {
  struct Args {
    std::string operation, file, seed, label, pairs, steps, thresholds, count, split, iterations,
        lr, prior, plus, minus;
    bool spherical = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app = kant.add_subcommand(
      "latent",
      "the latent space of a finished cell's stored generator (its EMA when it keeps one): "
      "interpolate (paths between codes as image strips), truncate (samples of truncated codes "
      "and the cell's metrics on them; Brock et al. 2019) search (codes that maximise the "
      "feature network's logit of a class; Kang et al. 2017), arithmetic (mean codes of classes "
      "added and subtracted; Radford et al. 2016) or invert (data samples recovered as "
      "G(z) by optimising z; Metz et al. 2017's mode-coverage measure); the results are stored "
      "in the cell's file, rewritten whole or not at all, and shown by kant report");
  app->group("Commands");
  app->add_option("OPERATION", a->operation, "interpolate, truncate, search, arithmetic or invert")
      ->required();
  app->add_option("CELL", a->file, "a cell file (results/<experiment>/cells/<id>.h5)")->required();
  app->add_option("--seed", a->seed, "seed of the codes and data rows drawn (default 0)")
      ->type_name("S");
  app->add_option("--class", a->label,
                  "interpolate: the class of every path (a conditional generator; default: "
                  "drawn as in training); search: the class whose logit is maximised")
      ->type_name("C");
  app->add_option("--pairs", a->pairs, "interpolate: paths (default 4)")->type_name("P");
  app->add_option("--steps", a->steps, "interpolate: codes per path, ends included (default 8)")
      ->type_name("K");
  app->add_flag("--spherical", a->spherical,
                "interpolate: along the great circle (slerp; White 2016) instead of the line");
  app->add_option("--thresholds", a->thresholds,
                  "truncate: the thresholds ψ, comma-separated (default 0.5,1,2): codes drawn "
                  "from N(0, 1) conditioned on |z_j| ≤ ψ")
      ->type_name("ψ,…");
  app->add_option("--count", a->count,
                  "invert: data samples to recover; truncate: samples stored per ψ; search: "
                  "codes searched (default 64)")
      ->type_name("N");
  app->add_option("--split", a->split,
                  "invert: train (default) or test (the data set's held-out split)")
      ->type_name("SPLIT");
  app->add_option("--plus", a->plus, "arithmetic: classes whose mean codes are added (A,B,…)")
      ->type_name("A,…");
  app->add_option("--minus", a->minus, "arithmetic: classes whose mean codes are subtracted")
      ->type_name("C,…");
  app->add_option("--iterations", a->iterations,
                  "invert, search: Adam steps on z (default 500, 200)")
      ->type_name("T");
  app->add_option("--lr", a->lr, "invert, search: Adam's step size (default 0.05)")
      ->type_name("LR");
  app->add_option("--prior", a->prior,
                  "invert, search: weight λ of the prior penalty λ‖z‖²/D (default 0, 0.1)")
      ->type_name("λ");
  return {
      app, [a] {
        LatentRequest r;
        r.operation = a->operation;
        r.spherical = a->spherical;
        const std::vector<std::string> operations{"interpolate", "truncate", "search", "arithmetic",
                                                  "invert"};
        if (std::find(operations.begin(), operations.end(), r.operation) == operations.end())
          throw InputError(fmt::format("kant latent: unknown operation '{}'{}; expected {}",
                                       r.operation, did_you_mean(r.operation, operations),
                                       fmt::join(operations, ", ")));
        require_file(a->file);
        // options of the other operation cannot apply: refused, never ignored
        const std::map<std::string, std::pair<const std::string*, std::string>> only{
            {"--class", {&a->label, "interpolate, search"}},
            {"--pairs", {&a->pairs, "interpolate"}},
            {"--steps", {&a->steps, "interpolate"}},
            {"--thresholds", {&a->thresholds, "truncate"}},
            {"--count", {&a->count, "invert, truncate, search"}},
            {"--plus", {&a->plus, "arithmetic"}},
            {"--minus", {&a->minus, "arithmetic"}},
            {"--split", {&a->split, "invert"}},
            {"--iterations", {&a->iterations, "invert, search"}},
            {"--lr", {&a->lr, "invert, search"}},
            {"--prior", {&a->prior, "invert, search"}}};
        for (const auto& [option, what] : only)
          if (!what.first->empty() && what.second.find(r.operation) == std::string::npos)
            throw InputError(fmt::format("kant latent {}: {} is an option of kant latent {}",
                                         r.operation, option, what.second));
        if (a->spherical && r.operation != "interpolate")
          throw InputError(fmt::format(
              "kant latent {}: --spherical is an option of kant latent interpolate", r.operation));
        auto non_negative = [](const std::string& option, const std::string& text) {
          try {
            size_t end = 0;
            const double v = std::stod(text, &end);
            if (end == text.size() && v >= 0) return v;
          } catch (const std::exception&) {
          }
          throw InputError(fmt::format("{} must be a number ≥ 0, got '{}'", option, text));
        };
        if (!a->seed.empty()) r.seed = static_cast<uint64_t>(non_negative("--seed", a->seed));
        if (!a->label.empty()) r.label = static_cast<int64_t>(non_negative("--class", a->label));
        if (!a->pairs.empty()) r.pairs = positive_int("pairs", a->pairs);
        if (!a->steps.empty()) r.steps = positive_int("steps", a->steps);
        if (r.steps < 2) throw InputError("--steps must be at least 2 (a path's two ends)");
        if (!a->count.empty()) r.count = positive_int("count", a->count);
        if (!a->thresholds.empty()) {
          r.thresholds.clear();
          std::stringstream list(a->thresholds);
          for (std::string item; std::getline(list, item, ',');) {
            const double psi = non_negative("--thresholds", item);
            if (psi == 0) throw InputError("--thresholds: a threshold must be > 0");
            r.thresholds.push_back(psi);
          }
        }
        if (!a->split.empty()) {
          if (a->split != "train" && a->split != "test")
            throw InputError(fmt::format("--split must be train or test, got '{}'", a->split));
          r.split = a->split;
        }
        if (!a->iterations.empty()) r.iterations = positive_int("iterations", a->iterations);
        if (!a->lr.empty()) r.lr = non_negative("--lr", a->lr);
        if (!a->prior.empty()) r.prior = non_negative("--prior", a->prior);
        auto classes = [&](const std::string& option, const std::string& text) {
          std::vector<int64_t> out;
          std::stringstream list(text);
          for (std::string item; std::getline(list, item, ',');)
            out.push_back(static_cast<int64_t>(non_negative(option, item)));
          return out;
        };
        if (!a->plus.empty()) r.plus = classes("--plus", a->plus);
        if (!a->minus.empty()) r.minus = classes("--minus", a->minus);
        Registry registry = Registry::load_default();
        const LatentOutcome out = run_latent(a->file, r, registry);
        if (out.signal) {
          fmt::print(stderr, "kant latent: stopped by {}; {} is as it was\n", strsignal(out.signal),
                     a->file);
          return 128 + out.signal;
        }
        for (const std::string& line : out.lines) fmt::print("{}\n", line);
        fmt::print("stored in {} (arrays latent_{}/…)\n", a->file, r.operation);
        return 0;
      }};
}

}  // namespace kant::cli
