// Framework version, ABI version and the git commit this build came from.
#pragma once

namespace kant {

/// Bumped whenever a change to the public headers breaks binary compatibility of plugins.
/// 2: component state for checkpoints; plugins carry an ELF note read before loading;
/// f-divergences have double-precision stable compositions (kant/f_divergences.hpp).
/// 3: the procedure plugin kind; a metric's critic may be absent.
/// 4 (issue24): metrics declare requirements (rules checked against a CellView, values that
/// may be NaN); MetricContext carries the step.
/// 4 (issue21): registrations say what a component stores (Registration::stores); train
/// settings gain the update order and the sampling during training.
/// 5: both of the above together (the two branches each called their change 4); a Registration
/// lists `stores` before `requirements`.
/// 6 (issue 29): options structs (kant/options.hpp); a Registration carries the rules between
/// its parameters (`check`); procedures own their update settings (TrainSettings loses n_critic
/// and its siblings); Lipschitz methods apply to any network.
/// 7 (issue 30, issue 31): a batch carries its labels (Dataset::sample_batch,
/// class_frequencies); a LabelledSet carries the data set's own held-out split (held_out,
/// held_out_labels); networks take a label (NetworkSpec::classes, Network::label_classes,
/// forward_conditional, auxiliary_classes, forward_auxiliary); TrainingContext::labels,
/// MetricContext's label_classes and generate_labelled; schedules (issue 30): a parameter's
/// Value may hold a Schedule, ParamSpec::schedulable, TrainSettings::ema is a kant::Real;
/// the Improved-GAN techniques (issue 30): Objective::noisy_critic_loss, TrainingContext's
/// targets_rng and instance_noise_rng.
/// 8 (issue 32, issue 35): Procedure::shows_critic (which moved the virtual functions after it)
/// and Procedure::runs_products; TrainSettings::bf16 (train.precision).
constexpr unsigned kAbiVersion = 8;

/// Semantic version of the framework ("0.1.0").
const char* framework_version();
/// Git commit of the source tree at build time ("…-dirty" with local changes).
const char* git_commit();

}  // namespace kant
