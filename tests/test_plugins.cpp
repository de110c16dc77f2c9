// Plugin loading: every way a library can be unusable is a PluginError naming the file; files
// that others own or can write are refused (unless trusted); a file without the Kantorovich
// ELF note, or with another ABI's, is refused before any of its code runs. Options structs and
// declared losses: schema, defaults, typed values, rules.
#include <dlfcn.h>
#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "kant/error.hpp"
#include "kant/options.hpp"
#include "kant/procedure_steps.hpp"
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
  for (auto [kind, name] :
       std::vector<std::pair<Kind, const char*>>{{Kind::architecture, "mlp"},
                                                 {Kind::dataset, "eight_gaussians"},
                                                 {Kind::dataset, "twenty_five_gaussians"},
                                                 {Kind::dataset, "swiss_roll"},
                                                 {Kind::objective, "wasserstein"},
                                                 {Kind::objective, "nonsaturating"},
                                                 {Kind::objective, "minimax"},
                                                 {Kind::lipschitz, "none"},
                                                 {Kind::lipschitz, "gradient_penalty"},
                                                 {Kind::lipschitz, "weight_clipping"},
                                                 {Kind::optimizer, "sgd"},
                                                 {Kind::optimizer, "adam"},
                                                 {Kind::optimizer, "rmsprop"},
                                                 {Kind::metric, "mode_coverage"}}) {
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
  CHECK_THROWS_WITH(r.load_library(f),
                    Catch::Contains(f) && Catch::Contains("no entry symbol 'kant_plugin_entry'"));
}

TEST_CASE("ABI version and compiler mismatches", "[plugins]") {
  Registry r;
  const std::string f = test_plugin("wrong_abi");
  CHECK_THROWS_WITH(r.load_library(f),
                    Catch::Contains(f) && Catch::Contains("ABI 999") &&
                        Catch::Contains("this kant has ABI " + std::to_string(kAbiVersion)));
  const std::string g = test_plugin("wrong_tag");
  CHECK_THROWS_WITH(r.load_library(g), Catch::Contains(g) && Catch::Contains("clang-3.0"));
  CHECK(r.components().empty());
}

TEST_CASE("a name registered twice names both libraries", "[plugins]") {
  Registry r;
  r.load_directory(KANT_TEST_PLUGIN_DIR);
  const std::string f = test_plugin("duplicate");
  CHECK_THROWS_WITH(r.load_library(f), Catch::Contains(f) &&
                                           Catch::Contains("objective 'wasserstein'") &&
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
                    Catch::Contains(f) && Catch::Contains("boom in the factory") &&
                        Catch::Contains("'explodes'"));
  const std::string g = test_plugin("throwing_register");
  CHECK_THROWS_WITH(r.load_library(g),
                    Catch::Contains(g) && Catch::Contains("boom while registering"));
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

// ---- before any code runs: the ELF note ---------------------------------------------------

namespace {
namespace fs = std::filesystem;

std::string builtin_plugin(const std::string& file) {
  return std::string(KANT_TEST_PLUGIN_DIR) + "/" + file;
}

// A private copy of a built-in plugin in a folder of its own, modes 0755 / 0644.
fs::path copy_plugin(const fs::path& dir,
                     const std::string& file = "kant_objective_wasserstein.so") {
  fs::permissions(dir, fs::perms(0755));
  const fs::path to = dir / file;
  fs::copy_file(builtin_plugin(file), to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::perms(0644));
  return to;
}

std::vector<char> read_bytes(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& f, const std::vector<char>& bytes) {
  std::ofstream(f, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  fs::permissions(f, fs::perms(0644));
}
}  // namespace

TEST_CASE(
    "a library without the note, or with another ABI's, is refused before its constructors run",
    "[plugins][trust]") {
  const fs::path dir = temp_dir("kant-marker");
  const fs::path marker = dir / "constructor-ran";
  ::setenv("KANT_TEST_MARKER", marker.c_str(), 1);
  Registry r;
  const std::string no_note = test_plugin("no_note");
  CHECK_THROWS_WITH(r.load_library(no_note),
                    Catch::Contains(no_note) &&
                        Catch::Contains("no ELF note section .note.kantorovich") &&
                        Catch::Contains("not loaded"));
  CHECK_FALSE(fs::exists(marker));
  CHECK_THROWS_WITH(r.load_library(test_plugin("wrong_abi")),
                    Catch::Contains("ABI 999") && Catch::Contains("not loaded"));
  CHECK_FALSE(fs::exists(marker));
  // and in a kant process, through the plugin path
  CommandResult c = run_command("KANT_TEST_MARKER=" + marker.string() +
                                " KANT_PLUGIN_PATH=" + fs::path(no_note).parent_path().string() +
                                " " + kant_exe() + " plugins");
  CHECK(c.exit_code == 2);
  CHECK_THAT(c.output, Catch::Contains("no ELF note section"));
  CHECK_FALSE(fs::exists(marker));
  // the marker works: loading the file regardless runs its constructor
  void* h = dlopen(no_note.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(h);
  CHECK(fs::exists(marker));
  dlclose(h);
  ::unsetenv("KANT_TEST_MARKER");
}

TEST_CASE("the built-in plugins carry the note, damaged ELF headers are named, never followed",
          "[plugins][trust]") {
  const fs::path dir = temp_dir("kant-elf");
  const fs::path good = copy_plugin(dir);
  {
    Registry r;
    r.load_library(good);
    CHECK(r.find(Kind::objective, "wasserstein"));
  }
  const std::vector<char> bytes = read_bytes(good);
  auto damaged = [&](const std::string& name, auto edit) {
    std::vector<char> b = bytes;
    edit(b);
    const fs::path f = dir / (name + ".so");
    write_bytes(f, b);
    return f.string();
  };
  auto header = [](std::vector<char>& b) { return reinterpret_cast<Elf64_Ehdr*>(b.data()); };
  Registry r;
  const std::string truncated = damaged("truncated", [](std::vector<char>& b) { b.resize(200); });
  CHECK_THROWS_WITH(r.load_library(truncated),
                    Catch::Contains(truncated) && Catch::Contains("malformed ELF file"));
  const std::string tiny = damaged("tiny", [](std::vector<char>& b) { b.resize(10); });
  CHECK_THROWS_WITH(r.load_library(tiny), Catch::Contains("not an ELF file"));
  const std::string far =
      damaged("far", [&](std::vector<char>& b) { header(b)->e_shoff = ~0ull - 100; });
  CHECK_THROWS_WITH(r.load_library(far), Catch::Contains("lies past its end"));
  const std::string many =
      damaged("many", [&](std::vector<char>& b) { header(b)->e_shnum = 0xfeff; });
  CHECK_THROWS_WITH(r.load_library(many), Catch::Contains("malformed ELF file"));
  const std::string arm =
      damaged("arm", [&](std::vector<char>& b) { header(b)->e_machine = EM_ARM; });
  CHECK_THROWS_WITH(r.load_library(arm), Catch::Contains("built for another machine"));
  const std::string elf32 =
      damaged("elf32", [](std::vector<char>& b) { b[EI_CLASS] = ELFCLASS32; });
  CHECK_THROWS_WITH(r.load_library(elf32), Catch::Contains("32-bit"));
  const std::string names =
      damaged("names", [&](std::vector<char>& b) { header(b)->e_shstrndx = 0; });
  CHECK_THROWS_WITH(r.load_library(names), Catch::Contains("bad section name table"));
  // the note's magic changed: a note, but not ours
  const std::string magic = damaged("magic", [](std::vector<char>& b) {
    const std::string kant = "KANT";
    auto at = std::search(b.begin(), b.end(), kant.begin(), kant.end());
    REQUIRE(at != b.end());
    *at = 'X';
  });
  CHECK_THROWS_WITH(r.load_library(magic), Catch::Contains("no Kantorovich note with the magic"));
  CHECK(r.components().empty());
}

TEST_CASE("plugin files and folders others own or can write are refused, unless trusted",
          "[plugins][trust]") {
  const fs::path dir = temp_dir("kant-trust");
  const fs::path file = copy_plugin(dir);
  auto load = [&](bool trust) {
    Registry r;
    r.trust_plugin_path(trust);
    r.load_library(file);
  };
  CHECK_NOTHROW(load(false));
  fs::permissions(file, fs::perms(0664));
  CHECK_THROWS_WITH(load(false),
                    Catch::Contains(file.string()) && Catch::Contains("refused: the file") &&
                        Catch::Contains("is writable by its group (mode 0664; chmod go-w") &&
                        Catch::Contains("--trust-plugin-path") &&
                        Catch::Contains("KANT_TRUST_PLUGIN_PATH=1"));
  CHECK_NOTHROW(load(true));
  fs::permissions(file, fs::perms(0644));
  fs::permissions(dir, fs::perms(0757));
  CHECK_THROWS_WITH(load(false), Catch::Contains("refused: its folder " + dir.string() +
                                                 " is writable by others"));
  CHECK_NOTHROW(load(true));
  // through kant: the flag (before or after the command) and the environment variable
  const std::string env = "KANT_PLUGIN_PATH=" + dir.string() + " ";
  CommandResult c = run_command(env + kant_exe() + " plugins objective");
  CHECK(c.exit_code == 2);
  CHECK_THAT(c.output, Catch::Contains("is writable by others"));
  CHECK(std::count(c.output.begin(), c.output.end(), '\n') == 1);
  // (the copy registers 'wasserstein' a second time: trusted, it gets that far)
  for (const std::string& trusted :
       {env + kant_exe() + " --trust-plugin-path plugins objective",
        env + kant_exe() + " plugins objective --trust-plugin-path",
        env + "KANT_TRUST_PLUGIN_PATH=1 " + kant_exe() + " plugins objective"}) {
    c = run_command(trusted);
    INFO(trusted);
    CHECK_THAT(c.output, Catch::Contains("already registered"));
  }
  fs::permissions(dir, fs::perms(0755));
  if (::geteuid() == 0) {  // another owner: only root can make one
    constexpr uid_t kNobody = 65534;
    REQUIRE(::chown(file.c_str(), kNobody, kNobody) == 0);
    CHECK_THROWS_WITH(load(false), Catch::Contains("is owned by uid 65534") &&
                                       Catch::Contains("not by you (uid 0"));
    CHECK_NOTHROW(load(true));
    REQUIRE(::chown(file.c_str(), 0, 0) == 0);
    REQUIRE(::chown(dir.c_str(), kNobody, kNobody) == 0);
    CHECK_THROWS_WITH(load(false),
                      Catch::Contains("its folder") && Catch::Contains("owned by uid 65534"));
    REQUIRE(::chown(dir.c_str(), 0, 0) == 0);
  }
  CHECK_NOTHROW(load(false));  // root-owned (or ours) and written only by the owner
}

namespace {
// An options struct as a component declares one: a nested struct of shared settings, a rule.
struct Shared {
  int64_t steps;
  static void declare(kant::Declare<Shared>& d) {
    d(&Shared::steps, kant::param::integer("steps", 3, "shared steps").at_least(1));
  }
};
struct Probe {
  float lambda;
  std::string side;
  std::vector<int64_t> widths;
  Shared shared;
  static void declare(kant::Declare<Probe>& d) {
    d(&Probe::lambda, kant::param::real("lambda", 0.1, "weight").at_least(0));
    d(&Probe::side, kant::param::choice("side", "two", {"one", "two"}, "side"));
    d(&Probe::widths, kant::param::integers("widths", {4, 8}, "widths"));
    d.nested(&Probe::shared);
    d.check([](const Probe& p) { return p.side == "one" && p.shared.steps > 5 ? "too many" : ""; });
  }
};
struct Mismatched {
  int64_t lambda;
  static void declare(kant::Declare<Mismatched>& d) {
    d(&Mismatched::lambda, kant::param::real("lambda", 1.0, "a float into an int member"));
  }
};
struct Losses {
  double a = 0, b = 0;
  static void declare(kant::DeclareLosses<Losses>& d) {
    d(&Losses::a, "a", "first");
    d(&Losses::b, "b", "second");
  }
};
}  // namespace

TEST_CASE("an options struct is its schema, its defaults and its typed values",
          "[plugins][options]") {
  const kant::Schema& schema = kant::schema_of<Probe>();
  REQUIRE(schema.size() == 4);
  CHECK(schema[0].name == "lambda");
  CHECK(schema[3].name == "steps");  // the nested struct's, after the members before it
  CHECK(schema[0].constraint_str() == "≥ 0");
  const Probe defaults = kant::default_options<Probe>();
  CHECK(defaults.lambda == 0.1f);  // the double default, converted as the member's type
  CHECK(defaults.side == "two");
  CHECK(defaults.widths == std::vector<int64_t>{4, 8});
  CHECK(defaults.shared.steps == 3);
  const Probe set = kant::options_from<Probe>(kant::Params({{"lambda", 2.5},
                                                            {"side", std::string("one")},
                                                            {"widths", std::vector<int64_t>{1}},
                                                            {"steps", int64_t{5}}}));
  CHECK(set.lambda == 2.5f);
  CHECK(set.shared.steps == 5);
  // a rule between parameters, nested ones included
  CHECK_THROWS_WITH(kant::options_from<Probe>(kant::Params({{"lambda", 2.5},
                                                            {"side", std::string("one")},
                                                            {"widths", std::vector<int64_t>{1}},
                                                            {"steps", int64_t{6}}})),
                    "too many");
  CHECK(kant::declaration_of<Probe>().has_rules());
  CHECK_FALSE(kant::declaration_of<Shared>().has_rules());
  // a member that cannot hold the declared type is an error when the schema is first built
  CHECK_THROWS_WITH(kant::schema_of<Mismatched>(), Catch::Contains("option 'lambda'"));
  // losses declared once: names, values in order, exact checkpoint state
  CHECK(kant::loss_names_of<Losses>() == std::vector<std::string>{"a", "b"});
  const Losses l{0.1, -2.0};
  const auto values = kant::loss_values(l);
  CHECK(values == std::vector<std::pair<std::string, double>>{{"a", 0.1}, {"b", -2.0}});
  Losses back;
  kant::procedures::load_losses(kant::procedures::losses_state(l), back);
  CHECK(back.a == l.a);
  CHECK(back.b == l.b);
}

namespace {
// a penalty given as a function: λ·(number of samples in the real batch)
struct CountOptions {
  float lambda;
  static void declare(kant::Declare<CountOptions>& d) {
    d(&CountOptions::lambda, kant::param::real("lambda", 2.0, "weight").at_least(0));
  }
};
kant::Tensor count_penalty(const CountOptions& o, const kant::CriticBatch& b) {
  return kant::Tensor::scalar(o.lambda * static_cast<float>(b.real.size(0)));
}
struct Identity : kant::Network {
  kant::Tensor forward(const kant::Tensor& x) override { return x; }
};
}  // namespace

TEST_CASE("a Lipschitz method that is only a penalty is a function of its options and the batch",
          "[plugins][options]") {
  const kant::Registration r = kant::component(&count_penalty, "count", "1.0.0", "λ·N");
  CHECK(r.name == "count");
  REQUIRE(r.schema.size() == 1);
  CHECK(r.schema[0].name == "lambda");
  const auto& factory = std::get<kant::LipschitzFactory>(r.factory);
  auto method = factory(kant::Params({{"lambda", 0.5}}));
  CHECK_FALSE(method->transforms_weights());
  Identity critic;
  const kant::Tensor real = kant::Tensor::zeros({3, 2});
  kant::Rng rng(0);
  CHECK(method->penalty(kant::CriticBatch{critic, real, real, rng}).item() == 1.5);
  CHECK(factory(kant::Params({{"lambda", 2.0}}))->penalty({critic, real, real, rng}).item() == 6);
}
