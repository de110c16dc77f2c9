// Plugin loading: every way a library can be unusable is a PluginError naming the file.
#include <catch2/catch.hpp>

#include "kant/error.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;

namespace {
std::string test_plugin(const std::string& name) {
  return std::string(KANT_TEST_BAD_PLUGIN_DIR) + "/" + name + "/kant_test_" + name + ".so";
}
}  // namespace

TEST_CASE("built-in plugins register every component of the foundation", "[plugins]") {
  const Registry& r = builtin_registry();
  for (auto [kind, name] : std::vector<std::pair<Kind, const char*>>{
           {Kind::architecture, "mlp"},       {Kind::dataset, "eight_gaussians"},
           {Kind::dataset, "twenty_five_gaussians"}, {Kind::dataset, "swiss_roll"},
           {Kind::objective, "wasserstein"},  {Kind::objective, "nonsaturating"},
           {Kind::objective, "minimax"},      {Kind::lipschitz, "none"},
           {Kind::lipschitz, "gradient_penalty"}, {Kind::lipschitz, "weight_clipping"},
           {Kind::optimizer, "sgd"},          {Kind::optimizer, "adam"},
           {Kind::optimizer, "rmsprop"},      {Kind::metric, "mode_coverage"}}) {
    INFO(kind_name(kind) << " " << name);
    const Component* c = r.find(kind, name);
    REQUIRE(c);
    CHECK_FALSE(c->registration.summary.empty());
    for (const ParamSpec& p : c->schema()) CHECK_FALSE(p.doc.empty());
  }
}

TEST_CASE("a library without the entry symbol", "[plugins]") {
  Registry r;
  const std::string f = test_plugin("no_entry");
  CHECK_THROWS_WITH(r.load_library(f), Catch::Contains(f) && Catch::Contains("no entry symbol 'kant_plugin_entry'"));
}

TEST_CASE("ABI version and compiler mismatches", "[plugins]") {
  Registry r;
  const std::string f = test_plugin("wrong_abi");
  CHECK_THROWS_WITH(r.load_library(f), Catch::Contains(f) &&
                                           Catch::Contains("ABI " + std::to_string(kAbiVersion + 998)) &&
                                           Catch::Contains("this kant has ABI " + std::to_string(kAbiVersion)));
  const std::string g = test_plugin("wrong_tag");
  CHECK_THROWS_WITH(r.load_library(g), Catch::Contains(g) && Catch::Contains("clang-3.0"));
  CHECK(r.components().empty());
}

TEST_CASE("a name registered twice names both libraries", "[plugins]") {
  Registry r;
  r.load_directory(KANT_TEST_PLUGIN_DIR);
  const std::string f = test_plugin("duplicate");
  CHECK_THROWS_WITH(r.load_library(f), Catch::Contains(f) && Catch::Contains("objective 'wasserstein'") &&
                                           Catch::Contains("kant_objective_wasserstein.so"));
}

TEST_CASE("a factory or registration that throws", "[plugins]") {
  Registry r;
  const std::string f = test_plugin("throwing_factory");
  r.load_library(f);
  const Component* c = r.find(Kind::objective, "explodes");
  REQUIRE(c);
  CHECK_THROWS_AS((r.create<Objective, ObjectiveFactory>(*c, Params())), PluginError);
  CHECK_THROWS_WITH((r.create<Objective, ObjectiveFactory>(*c, Params())),
                    Catch::Contains(f) && Catch::Contains("boom in the factory") && Catch::Contains("'explodes'"));
  const std::string g = test_plugin("throwing_register");
  CHECK_THROWS_WITH(r.load_library(g), Catch::Contains(g) && Catch::Contains("boom while registering"));
}

TEST_CASE("a file that is not a shared library", "[plugins]") {
  auto dir = temp_dir("kant-notlib");
  std::string f = (dir / "libfake.so").string();
  FILE* out = fopen(f.c_str(), "w");
  fputs("not an ELF file", out);
  fclose(out);
  Registry r;
  CHECK_THROWS_WITH(r.load_library(f), Catch::Contains(f) && Catch::Contains("cannot be loaded"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("objects keep their library loaded", "[plugins]") {
  std::shared_ptr<Objective> o;
  {
    Registry r;
    r.load_directory(KANT_TEST_PLUGIN_DIR);
    o = r.create<Objective, ObjectiveFactory>(*r.find(Kind::objective, "wasserstein"), Params());
  }  // the registry is gone; the object's code must still be there
  Tensor a = Tensor::from({1, 1}, {1.0f}), b = Tensor::from({1, 1}, {3.0f});
  CHECK(o->critic_loss(a, b).item() == 2.0f);
}
