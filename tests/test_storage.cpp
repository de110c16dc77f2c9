// HDF5 layer and cell files: round trip, atomic write, truncated and foreign files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "kant/error.hpp"
#include "store/cell_file.hpp"
#include "store/h5.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant;
using namespace kant::testing;

namespace {

CellResult sample_result() {
  CellResult r;
  r.status = CellStatus::diverged;
  r.detail = "the critic loss became nan at generator step 3";
  r.diverged_step = 3;
  r.losses.add(1, {{"loss_critic", -0.5}, {"loss_generator", 0.25}});
  r.losses.add(2, {{"loss_critic", -0.75}, {"loss_generator", 0.5}});
  r.metrics["mode_coverage"].add(2, {{"modes", 7.0}, {"high_quality", 55.5}});
  r.final_metrics = {{"mode_coverage.modes", 7.0}, {"mode_coverage.high_quality", 55.5}};
  r.generated = Tensor::from({3, 2}, {1, 2, 3, 4, 5, 6});
  r.wall_time_s = 1.5;
  return r;
}

CellInfo sample_info() {
  CellInfo info;
  info.experiment = "exp";
  info.cell_id = "0123456789abcdef";
  info.labels = {{"method", "WGAN-GP"}, {"seed", "0"}};
  info.config_yaml = "seed: 0\n";
  info.plugins = {
      {"objective/wasserstein", "1.0.0", "/x/kant_objective_wasserstein.so", std::string(64, '0')}};
  info.backend_version = "2.6.3";
  info.backend_isa = "avx2";
  return info;
}

}  // namespace

TEST_CASE("HDF5 groups, attributes and datasets round trip", "[storage]") {
  fs::path dir = temp_dir("kant-h5");
  {
    h5::File f = h5::File::create(dir / "a.h5");
    h5::Group root = f.root();
    root.set_attr("text", std::string("ünïcode ✓"));
    root.set_attr("real", 2.5);
    root.set_attr("int", int64_t{-7});
    h5::Group g = root.create_group("g");
    g.write("d", std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
    g.write("i", std::vector<int64_t>{10, 20}, {2});
    std::vector<float> big(100000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * 0.5f;
    g.write("f", big.data(), {50000, 2});
  }
  h5::File f = h5::File::open(dir / "a.h5");
  h5::Group root = f.root();
  CHECK(root.attr_string("text") == "ünïcode ✓");
  CHECK(root.attr_double("real") == 2.5);
  CHECK(root.attr_int("int") == -7);
  CHECK(root.children() == std::vector<std::string>{"g"});
  Shape shape;
  CHECK(root.open_group("g").read("d", &shape) == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(shape == Shape{2, 3});
  CHECK(root.open_group("g").read("i") == std::vector<double>{10, 20});
  std::vector<double> big = root.open_group("g").read("f", &shape);
  CHECK(shape == Shape{50000, 2});
  CHECK(big[99999] == 99999 * 0.5);
  CHECK_THROWS_AS(root.open_group("missing"), StorageError);
  fs::remove_all(dir);
}

TEST_CASE("cell status: one word each, the words cell files have always stored", "[storage]") {
  const std::vector<std::pair<CellStatus, std::string>> words{
      {CellStatus::complete, "complete"},
      {CellStatus::diverged, "diverged"},
      {CellStatus::failed, "failed"},
      {CellStatus::elsewhere, "elsewhere"},
      {CellStatus::interrupted, "interrupted"}};
  for (const auto& [status, word] : words) {
    CHECK(to_string(status) == word);
    CHECK(parse_cell_status(word) == status);
    CHECK(is_stored(status) == (word == "complete" || word == "diverged" || word == "failed"));
    CHECK(is_done(status) == (word == "complete" || word == "diverged"));
  }
  CHECK_FALSE(parse_cell_status("Complete"));
  CHECK_FALSE(parse_cell_status(""));

  fs::path dir = temp_dir("kant-status");
  for (CellStatus status : {CellStatus::complete, CellStatus::diverged, CellStatus::failed}) {
    CellResult r = sample_result();
    r.status = status;
    const fs::path file = cell_path(dir, "0123456789abcdef");
    fs::remove(file);
    write_cell_file(file, sample_info(), r);
    CHECK(h5::File::open(file).root().attr_string("status") == to_string(status));
    CHECK(read_cell_summary(file).status == status);
  }
  // the outcomes of a run that store nothing are refused, and nothing is left
  CellResult r = sample_result();
  r.status = CellStatus::interrupted;
  const fs::path file = cell_path(dir, "fedcba9876543210");
  CHECK_THROWS_AS(write_cell_file(file, sample_info(), r), StorageError);
  CHECK_FALSE(fs::exists(file));
  fs::remove_all(dir);
}

TEST_CASE("cell files: write, read back, and no temporary left", "[storage]") {
  fs::path dir = temp_dir("kant-cell");
  fs::path file = cell_path(dir, "0123456789abcdef");
  write_cell_file(file, sample_info(), sample_result());
  for (const auto& e : fs::directory_iterator(file.parent_path()))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  CellSummary s = read_cell_summary(file);
  CHECK(s.status == CellStatus::diverged);
  CHECK(s.diverged_step == 3);
  CHECK(s.detail == "the critic loss became nan at generator step 3");
  CHECK(s.labels ==
        std::vector<std::pair<std::string, std::string>>{{"method", "WGAN-GP"}, {"seed", "0"}});
  CHECK(s.final_metrics.at("mode_coverage.high_quality") == 55.5);
  CHECK(s.attrs.at("onednn_isa") == "avx2");
  CHECK(s.attrs.at("onednn_version") == "2.6.3");
  h5::File f = h5::File::open(file);
  CHECK(f.root().open_group("series").read("loss_critic") == std::vector<double>{-0.5, -0.75});
  CHECK(f.root().open_group("metrics").open_group("mode_coverage").read("modes") ==
        std::vector<double>{7});
  Shape shape;
  CHECK(f.root().open_group("samples").read("generated", &shape)[5] == 6.0);
  CHECK(shape == Shape{3, 2});
  fs::remove_all(dir);
}

TEST_CASE("truncated, foreign and missing files are errors naming the file", "[storage]") {
  fs::path dir = temp_dir("kant-bad");
  fs::path good = cell_path(dir, "aaaaaaaaaaaaaaaa");
  write_cell_file(good, sample_info(), sample_result());
  // truncated: half of a real cell file
  fs::path truncated = dir / "truncated.h5";
  fs::copy_file(good, truncated);
  fs::resize_file(truncated, fs::file_size(good) / 2);
  CHECK_THROWS_WITH(read_cell_summary(truncated), Catch::Contains(truncated.string()));
  // foreign: a valid HDF5 file that is not a cell
  fs::path foreign = dir / "foreign.h5";
  { h5::File::create(foreign).root().set_attr("hello", 1.0); }
  CHECK_THROWS_WITH(
      read_cell_summary(foreign),
      Catch::Contains(foreign.string()) && Catch::Contains("not a sealed Kantorovich file"));
  // not HDF5 at all, and missing
  fs::path text = dir / "text.h5";
  std::ofstream(text) << "hello";
  CHECK_THROWS_WITH(read_cell_summary(text), Catch::Contains(text.string()));
  CHECK_THROWS_AS(read_cell_summary(dir / "missing.h5"), StorageError);
  fs::remove_all(dir);
}
