// The metric stage (see metric_stage.hpp).
#include "training/metric_stage.hpp"

#include <fmt/format.h>

#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/plugin.hpp"
#include "training/resume.hpp"

namespace kant {

Tensor generate_samples(Session& session, int64_t n) {
  return session.generate(session.metric_noise_rng, n);
}

namespace {
// Whether a metric declares that `value` may be NaN (a declared name may be a pattern,
// "upper_<network>").
bool may_be_nan_named(const std::map<std::string, std::string>& may_be_nan,
                      const std::string& value) {
  for (const auto& [name, when] : may_be_nan)
    if (stored_name_matches(name, value)) return true;
  return false;
}
}  // namespace

MetricContext metric_context(Session& s) {
  Session* session = &s;
  MetricContext ctx{
      *s.dataset,
      s.sampler(),
      s.scoring_critic,
      [session](int64_t n) { return generate_samples(*session, n); },
      s.metric_rng,
      [session](int64_t n) { return session->generator_input(session->metric_noise_rng, n); },
      s.config.noise,
      s.objective.get(),
      s.procedure->categories(),
      [session](int64_t n, int64_t category) {
        NoGradGuard no_grad;
        return session->sampler().forward(
            session->generator_input_for_category(session->metric_noise_rng, n, category));
      }};
  for (const auto& [network, method] : s.network_lipschitz)
    for (const auto& [name, net] : s.networks)
      if (name == network) ctx.constrained.emplace_back(name, net.get());
  for (const auto& [name, net] : s.networks) ctx.networks.emplace_back(name, net.get());
  ctx.domains = s.procedure->domains();
  ctx.label_classes = s.sampler().label_classes();
  ctx.generate_labelled = [session](int64_t n, std::optional<int64_t> label) {
    return session->generate_labelled(session->metric_noise_rng, n, label);
  };
  return ctx;
}

FinalState capture_final_state(Session& session, int64_t step) {
  FinalState f;
  f.step = step;
  auto copies = [](const std::vector<Module::NamedTensor>& tensors) {
    std::vector<Module::NamedTensor> out;
    for (const auto& [name, t] : tensors) out.emplace_back(name, t.clone());
    return out;
  };
  for (const auto& [name, module] : network_parts(session).modules)
    f.networks.push_back(
        {name, copies(module->named_parameters()), copies(module->named_buffers())});
  for (const auto& [name, rng] : session_streams(session))
    f.streams.emplace_back(name, rng->state());
  f.states["procedure"] = session.procedure->state();
  f.states["dataset"] = session.dataset->state();
  f.states["lipschitz"] = session.lipschitz->state();
  for (const auto& [network, method] : session.network_lipschitz)
    f.states["lipschitz." + network] = method->state();
  return f;
}

void restore_final_state(Session& session, const FinalState& f) {
  std::vector<std::pair<std::string, Rng*>> all = session_streams(session);
  for (const auto& o : session.optional_streams()) all.emplace_back(o.name, o.rng);
  for (const auto& [name, rng] : all)
    for (const auto& [stored, words] : f.streams)
      if (stored == name) rng->set_state(words);
  auto state = [&](const char* name) {
    auto it = f.states.find(name);
    return it == f.states.end() ? ComponentState{} : it->second;
  };
  session.procedure->load_state(state("procedure"));
  session.dataset->load_state(state("dataset"));
  session.lipschitz->load_state(state("lipschitz"));
  for (const auto& [network, method] : session.network_lipschitz)
    method->load_state(state(("lipschitz." + network).c_str()));
}

std::vector<MetricStage::Entry> session_metrics(const Session& session) {
  std::vector<MetricStage::Entry> out;
  for (size_t i = 0; i < session.metrics.size(); ++i)
    out.push_back({&session.config.metrics[i], session.metrics[i]});
  return out;
}

MetricStage::MetricStage(std::vector<Entry> metrics, MetricContext& ctx, bool fatal,
                         std::string source, MetricFailed on_failure)
    : metrics_(std::move(metrics)),
      ctx_(ctx),
      fatal_(fatal),
      source_(std::move(source)),
      on_failure_(std::move(on_failure)) {}

MetricRecord& MetricStage::record(size_t i, CellResult& result) const {
  const MetricChoice& m = *metrics_[i].choice;
  auto [it, added] = result.metric_records.try_emplace(m.name);
  if (added) {
    it->second.plugin = m.choice.component->name();
    it->second.params = m.key();
    it->second.every = m.every;
    it->second.source = source_;
  }
  return it->second;
}

void MetricStage::fail(size_t i, int64_t step, const std::string& error, CellResult& result) const {
  MetricRecord& r = record(i, result);
  r.status = "failed";
  r.error = error;
  r.failed_step = step;
  if (ctx_.critic) ctx_.critic->set_recording(false);  // a metric that threw while recording
  if (on_failure_) on_failure_(metrics_[i].choice->name, step, error);
}

void MetricStage::evaluate(int64_t step, bool final_values, CellResult& result) {
  ScheduleClock at_step(step);  // scheduled parameters (an objective's margin) read at this step
  for (size_t i = 0; i < metrics_.size(); ++i) {
    const MetricChoice& m = *metrics_[i].choice;
    const bool periodic = m.every > 0 && step % m.every == 0;
    if (!periodic && !final_values) continue;
    if (record(i, result).status == "failed") continue;
    ctx_.step = step;
    std::map<std::string, double> values;
    if (fatal_) {
      values = metrics_[i].metric->compute(ctx_);
    } else {
      try {
        values = metrics_[i].metric->compute(ctx_);
      } catch (const std::exception& e) {
        fail(i, step, e.what(), result);
        continue;
      }
      // a non-finite value is a failure unless the metric declares that value may be NaN, or
      // the cell has diverged: its networks hold NaN or Inf, and the values computed from
      // them are stored as numbers, which the divergence explains (as before this stage)
      const auto& may_be_nan = m.choice.component->registration.requirements.may_be_nan;
      std::string bad;
      for (const auto& [k, v] : values)
        if (!std::isfinite(v) && !(std::isnan(v) && may_be_nan_named(may_be_nan, k)) && bad.empty())
          bad = fmt::format("{} returned {} = {} at step {} (a non-finite value)",
                            m.choice.component->name(), k, v, step);
      if (!bad.empty() && result.status != CellStatus::diverged) {
        fail(i, step, bad, result);
        continue;
      }
    }
    Series& series = result.metrics[m.name];
    if (series.step.empty() || series.step.back() != step) series.add(step, values);
    if (final_values)
      for (const auto& [k, v] : values) result.final_metrics[m.name + "." + k] = v;
  }
}

void MetricStage::final_arrays(int64_t step, CellResult& result) {
  ScheduleClock at_step(step);
  for (size_t i = 0; i < metrics_.size(); ++i) {
    const std::string& name = metrics_[i].choice->name;
    if (record(i, result).status == "failed") continue;
    std::map<std::string, Tensor> arrays;
    if (fatal_) {
      arrays = metrics_[i].metric->final_arrays(ctx_);
    } else {
      try {
        arrays = metrics_[i].metric->final_arrays(ctx_);
      } catch (const std::exception& e) {
        fail(i, step, e.what(), result);
        // its final values go with it: a failed metric is never shown as a number
        for (auto it = result.final_metrics.begin(); it != result.final_metrics.end();)
          it = it->first.compare(0, name.size() + 1, name + ".") == 0
                   ? result.final_metrics.erase(it)
                   : std::next(it);
        Series& s = result.metrics[name];
        if (!s.step.empty() && s.step.back() == step) {
          s.step.pop_back();
          for (auto& [k, v] : s.values) v.pop_back();
        }
        continue;
      }
    }
    if (!arrays.empty()) result.arrays[name] = std::move(arrays);
  }
}

}  // namespace kant
