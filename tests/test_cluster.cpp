// Beyond one machine, without a cluster: the grid's status line (time left per setting, plain
// lines, in place on a terminal), kant run --cells, kant slurm's scripts (dry run, a fake
// sbatch on PATH, the array script run by hand as a task would), MPI's assignment logic and
// what kant --version says of MPI. The real SLURM cluster and mpirun: tests/slurm_check.py and
// tests/mpi_check.py.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cluster/coordinator.hpp"
#include "cluster/slurm.hpp"
#include "runs/progress.hpp"
#include "store/cell_file.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant;
using namespace kant::testing;

namespace {

const std::string kData = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/";

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// An experiment of four cells: settings a=x and a=y, seeds 0 and 1.
Experiment four_cells() {
  Experiment ex;
  ex.name = "four";
  for (const char* a : {"x", "y"})
    for (const char* seed : {"0", "1"}) {
      Cell c;
      c.labels = {{"a", a}, {"seed", seed}};
      c.id = std::string(a) + seed;
      ex.cells.push_back(c);
    }
  return ex;
}

// tiny.yaml with a slurm block, in a folder of its own.
fs::path tiny_with_slurm_block(const fs::path& dir, const std::string& block) {
  std::ifstream in(kData + "tiny.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path file = dir / "tiny.yaml";
  std::ofstream(file) << text << block;
  return file;
}

std::vector<std::string> cell_ids(const std::string& validate_output) {
  std::vector<std::string> ids;
  static const std::regex line(R"(^\s*\d+\s+([0-9a-f]{16})\s)");
  std::istringstream lines(validate_output);
  std::string l;
  std::smatch m;
  while (std::getline(lines, l))
    if (std::regex_search(l, m, line)) ids.push_back(m[1]);
  return ids;
}

}  // namespace

TEST_CASE("list schedules and durations as the status line prints them", "[cluster][status]") {
  CHECK(list_schedule_makespan({0, 0}, {5, 3, 2}) == 5);
  CHECK(list_schedule_makespan({0}, {5, 3, 2}) == 10);
  CHECK(list_schedule_makespan({4, 0}, {3, 3}) == 6);  // a running cell keeps its slot for 4 s
  CHECK(list_schedule_makespan({}, {}) == 0);
  CHECK(format_duration(42) == "0:42");
  CHECK(format_duration(3725) == "1:02:05");
  CHECK(format_duration(90061) == "1d 01:01");
}

TEST_CASE("the status line counts cells and estimates time left from each setting's finished cells",
          "[cluster][status]") {
  const Experiment ex = four_cells();
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  GridProgress::Options o;
  o.scope = "four";
  o.plain_every = std::chrono::seconds(3600);
  {
    GridProgress p(ex, out, o);
    for (size_t i = 0; i < 4; ++i) p.add(i, GridProgress::State::todo);
    CHECK(p.time_left_at(GridProgress::Clock::now()) < 0);
    CHECK_THAT(p.line(), Catch::Contains("four: 0/4 done, 0 running, 0 failed, 4 to do") &&
                             Catch::Contains("time left unknown until a cell finishes"));
    p.ended(0, CellStatus::complete, 10);  // a=x takes 10 s
    p.ended(2, CellStatus::complete, 30);  // a=y takes 30 s
    p.set_slots(2);
    CHECK(p.time_left_at(GridProgress::Clock::now()) == Approx(30));  // 10 and 30 side by side
    p.set_slots(1);
    CHECK(p.time_left_at(GridProgress::Clock::now()) == Approx(40));
    CHECK_THAT(p.line(), Catch::Contains("2/4 done, 0 running, 0 failed, 2 to do") &&
                             Catch::Contains("~0:40 left"));
    p.started(1);
    const auto later = GridProgress::Clock::now() + std::chrono::seconds(4);
    CHECK(p.time_left_at(later) ==
          Approx(6 + 30).margin(0.5));  // 10 − 4 s left of cell 1, then cell 3
    p.ended(3, CellStatus::failed, 1);  // failures count as failed, not as a duration
    CHECK(p.count(GridProgress::State::failed) == 1);
    p.ended(1, CellStatus::interrupted, 2);  // back to do
    CHECK(p.count(GridProgress::State::todo) == 1);
    p.set_held(1);
    CHECK_THAT(p.line(), Catch::Contains("(1 held by another run)"));
  }
  std::rewind(out);
  std::string printed;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) printed.append(buf, n);
  std::fclose(out);
  // plain lines: one per ended cell and the last one at close, none in between
  CHECK(count_of(printed, "kant: four: ") == 5);  // four ended cells, then close
  CHECK(printed.find('\033') == std::string::npos);
}

TEST_CASE("kant run prints the status line as plain lines when stderr is not a terminal",
          "[cluster][status]") {
  const fs::path results = temp_dir("kant-status");
  CommandResult r = run_command(kant_exe() + " run " + kData + "tiny.yaml --results " +
                                results.string() + " --jobs 1");
  REQUIRE(r.exit_code == 0);
  for (int done = 1; done <= 4; ++done)
    CHECK_THAT(r.output,
               Catch::Contains(fmt::format("kant: tiny: {}/4 done, 0 running, 0 failed, {} to do",
                                           done, 4 - done)));
  CHECK_THAT(r.output, Catch::Contains("elapsed · ~"));  // time left once a cell has finished
  CHECK(r.output.find('\033') == std::string::npos);
  CommandResult quiet = run_command(kant_exe() + " run " + kData + "tiny.yaml --results " +
                                    results.string() + " --quiet");
  CHECK(quiet.output.find("kant: tiny: 4/4") == std::string::npos);
}

TEST_CASE(
    "on a terminal the status line stays on the bottom line, the terminal restored at the end",
    "[cluster][status]") {
  const fs::path dir = temp_dir("kant-status-tty");
  // script(1) gives kant a pseudo-terminal of 30 rows
  CommandResult r =
      run_command("script -qec \"stty rows 30 cols 160; exec " + kant_exe() + " run " + kData +
                  "tiny.yaml --results " + (dir / "r").string() + " --jobs 2\" /dev/null");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("\033[1;29r"));  // scroll region above the last row
  CHECK_THAT(r.output, Catch::Contains("\0337\033[30;1H\033[2Kkant: tiny: "));  // drawn there
  CHECK_THAT(r.output, Catch::Contains("\033[r"));                              // region reset
  CHECK_THAT(r.output, Catch::Contains("kant: tiny: 4/4 done, 0 running, 0 failed, 0 to do"));
  CHECK(r.output.rfind("\033[r") <
        r.output.rfind("4/4 done"));  // the last line printed after the reset
}

TEST_CASE("kant run --cells trains only those cells, an id not in the grid is an error",
          "[cluster][cli]") {
  const fs::path results = temp_dir("kant-cells");
  const std::vector<std::string> ids =
      cell_ids(run_command(kant_exe() + " validate " + kData + "tiny.yaml").output);
  REQUIRE(ids.size() == 4);
  CommandResult r = run_command(kant_exe() + " run " + kData + "tiny.yaml --results " +
                                results.string() + " --cells " + ids[1] + "," + ids[3]);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("kant: tiny, 2 cells chosen: 2/2 done"));
  CHECK(fs::exists(results / "tiny" / "cells" / (ids[1] + ".h5")));
  CHECK(fs::exists(results / "tiny" / "cells" / (ids[3] + ".h5")));
  CHECK_FALSE(fs::exists(results / "tiny" / "cells" / (ids[0] + ".h5")));
  CommandResult bad = run_command(kant_exe() + " run " + kData + "tiny.yaml --results " +
                                  results.string() + " --cells " + ids[0] + ",00000000deadbeef");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("--cells: 00000000deadbeef is not in the grid"));
}

TEST_CASE(
    "kant slurm --dry-run: one array task per pending cell, settings from the slurm block and the "
    "command line, only what is not complete",
    "[cluster][slurm]") {
  const fs::path dir = temp_dir("kant-slurm-dry");
  const fs::path yaml = tiny_with_slurm_block(dir, R"(slurm:
  partition: debug
  time: "00:10:00"
  cpus_per_task: 2
  sbatch: [--mem=1G, "#SBATCH --account=kant"]
  prologue: |
    module load hdf5
    export KANT_TEST_PROLOGUE=1
)");
  const std::string results = (dir / "r").string();
  const std::vector<std::string> ids =
      cell_ids(run_command(kant_exe() + " validate " + yaml.string()).output);
  REQUIRE(ids.size() == 4);
  const std::string slurm = kant_exe() + " slurm " + yaml.string() + " --results " + results;
  CommandResult r =
      run_command(slurm + " --array-parallel 2 --time 0:20:00 --prologue 'echo hello' --dry-run");
  REQUIRE(r.exit_code == 0);
  const std::string& s = r.output;
  CHECK_THAT(s, Catch::Contains("tiny — 4 cells, 0 complete, 4 to run: 4 array tasks of 1 cell, 2 "
                                "CPUs each, at most 2 at once"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --array=0-3%2\n"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --cpus-per-task=2\n"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --partition=debug\n"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --time=0:20:00\n"));  // the command line wins
  CHECK(count_of(s, "#SBATCH --mem=1G\n") == 2);               // both jobs
  CHECK(count_of(s, "#SBATCH --account=kant\n") == 2);
  CHECK(count_of(s, "module load hdf5\nexport KANT_TEST_PROLOGUE=1\necho hello\n") == 2);
  for (const std::string& id : ids) CHECK(count_of(s, id) == 1);
  CHECK_THAT(s, Catch::Contains("--cells \"${cells[${SLURM_ARRAY_TASK_ID:?run this script with "
                                "sbatch}]}\" --jobs 1 --threads 2"));
  CHECK_THAT(s, Catch::Contains("#SBATCH --dependency=afterany:<array job id>"));
  CHECK_THAT(s, Catch::Contains(" report " + results + "/tiny\n"));
  CHECK_FALSE(fs::exists(dir / "r"));  // a dry run writes nothing

  REQUIRE(run_command(kant_exe() + " run " + yaml.string() + " --results " + results + " --cells " +
                      ids[0] + "," + ids[2])
              .exit_code == 0);
  CommandResult again = run_command(slurm + " --cells-per-task 3 --dry-run");
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.output,
             Catch::Contains("4 cells, 2 complete, 2 to run: 1 array task of 3 cells"));
  CHECK_THAT(again.output, Catch::Contains("#SBATCH --array=0-0\n"));
  CHECK_THAT(again.output, Catch::Contains("[0]=" + ids[1] + "," + ids[3] + "  # 2/4 "));
  CHECK(again.output.find(ids[0]) == std::string::npos);

  REQUIRE(run_command(kant_exe() + " run " + yaml.string() + " --results " + results).exit_code ==
          0);
  CommandResult none = run_command(slurm + " --dry-run");
  CHECK(none.exit_code == 0);
  CHECK_THAT(none.output, Catch::Contains("all 4 cells of tiny are complete; nothing to submit"));
}

TEST_CASE("kant slurm: a wrong slurm block or option is an error naming it", "[cluster][slurm]") {
  const fs::path dir = temp_dir("kant-slurm-bad");
  const fs::path typo = tiny_with_slurm_block(dir, "slurm:\n  partiton: debug\n");
  CommandResult r = run_command(kant_exe() + " slurm " + typo.string() + " --dry-run");
  CHECK(r.exit_code == 2);
  CHECK_THAT(
      r.output,
      Catch::Contains(
          "tiny.yaml:18:3: error: unknown slurm key 'partiton' (did you mean 'partition'?)"));
  for (const char* command :
       {"validate", "run"}) {  // checked by every command, before anything runs
    CommandResult other =
        run_command(kant_exe() + " " + command + " " + typo.string() +
                    (std::string(command) == "run" ? " --results " + (dir / "r").string() : ""));
    CHECK(other.exit_code == 2);
    CHECK_THAT(other.output, Catch::Contains("unknown slurm key 'partiton'"));
    CHECK_FALSE(fs::exists(dir / "r"));
  }
  CommandResult time =
      run_command(kant_exe() + " slurm " + kData + "tiny.yaml --time 'ten minutes' --dry-run");
  CHECK(time.exit_code == 2);
  CHECK_THAT(time.output, Catch::Contains("the time limit must be in SLURM's format"));
  CommandResult line =
      run_command(kant_exe() + " slurm " + kData + "tiny.yaml --sbatch mem=1G --dry-run");
  CHECK(line.exit_code == 2);
  CHECK_THAT(line.output, Catch::Contains("must be an sbatch option such as --mem=8G"));
  // not a dry run: still one error line, and nothing written or submitted
  const fs::path results = dir / "r";
  for (const char* bad : {"--time 'ten minutes'", "--cpus-per-task 0", "--array-parallel x"}) {
    CommandResult r2 = run_command(kant_exe() + " slurm " + kData + "tiny.yaml --results " +
                                   results.string() + " " + std::string(bad));
    CHECK(r2.exit_code == 2);
    CHECK(count_of(r2.output, "\n") == 1);  // one line
    CHECK(r2.output.rfind("kant: ", 0) == 0);
    CHECK_FALSE(fs::exists(results));
  }
}

TEST_CASE(
    "kant slurm submits the array then the report job after it (afterany), the scripts run as "
    "tasks would",
    "[cluster][slurm]") {
  const fs::path dir = temp_dir("kant-slurm-fake");
  const fs::path bin = dir / "bin";
  fs::create_directories(bin);
  // a fake sbatch: records its arguments and the script, answers the next job id as --parsable does
  std::ofstream(bin / "sbatch") << "#!/bin/sh\n"
                                   "n=$(( $(cat "
                                << (dir / "n").string()
                                << " 2>/dev/null || echo 41) + 1 ))\n"
                                   "echo $n > "
                                << (dir / "n").string()
                                << "\n"
                                   "echo \"$@\" >> "
                                << (dir / "calls").string()
                                << "\n"
                                   "for a; do last=$a; done\n"
                                   "case $last in *fail*) echo 'sbatch: error: Batch job "
                                   "submission failed' >&2; exit 1;; esac\n"
                                   "echo \"$n;kant\"\n";
  fs::permissions(bin / "sbatch", fs::perms::owner_all);
  const std::string results = (dir / "r").string();
  const std::string env = "PATH=" + bin.string() + ":$PATH ";
  CommandResult r =
      run_command(env + kant_exe() + " slurm " + kData + "tiny.yaml --results " + results);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output,
             Catch::Contains("array job 42: 4 tasks (" + results + "/tiny/slurm/array.sbatch)"));
  CHECK_THAT(r.output, Catch::Contains("report job 43: after job 42 ends"));
  const std::string calls = read_text(dir / "calls");
  CHECK_THAT(calls,
             Catch::Contains("--parsable " + results + "/tiny/slurm/array.sbatch\n--parsable " +
                             results + "/tiny/slurm/report.sbatch\n"));
  const fs::path slurm_dir = fs::path(results) / "tiny" / "slurm";
  CHECK_THAT(read_text(slurm_dir / "report.sbatch"),
             Catch::Contains("#SBATCH --dependency=afterany:42\n"));
  CHECK_THAT(read_text(slurm_dir / "submissions.txt"),
             Catch::Contains("array job 42 (4 tasks, 4 cells)  report job 43"));
  CHECK(fs::exists(fs::path(results) / "tiny" / "cells.yaml"));
  CHECK(run_command("bash -n " + (slurm_dir / "array.sbatch").string()).exit_code == 0);
  CHECK(run_command("bash -n " + (slurm_dir / "report.sbatch").string()).exit_code == 0);

  // array task 1 as SLURM would run it, then the report job
  CommandResult task =
      run_command("SLURM_ARRAY_TASK_ID=1 bash " + (slurm_dir / "array.sbatch").string());
  REQUIRE(task.exit_code == 0);
  CHECK_THAT(task.output, Catch::Contains("kant: tiny, 1 cell chosen: 1/1 done"));
  CHECK(count_of(task.output, "complete in") == 1);
  CommandResult report = run_command("bash " + (slurm_dir / "report.sbatch").string());
  CHECK(report.exit_code == 0);
  CHECK_THAT(report.output, Catch::Contains("| method"));
  CHECK_THAT(report.output, Catch::Contains("kant slurm: to train what is not complete: "));
  CHECK(fs::exists(fs::path(results) / "tiny" / "report" / "index.html"));

  // submitted again: the three cells left
  CommandResult again =
      run_command(env + kant_exe() + " slurm " + kData + "tiny.yaml --results " + results);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.output, Catch::Contains("4 cells, 1 complete, 3 to run"));
  CHECK_THAT(again.output, Catch::Contains("array job 44: 3 tasks"));
  CHECK_THAT(
      read_text(slurm_dir / "submissions.txt"),
      Catch::Contains("report job 43\n") && Catch::Contains("array job 44 (3 tasks, 3 cells)"));

  // sbatch refusing: its message, exit 1
  const fs::path failing = dir / "fail-results";
  CommandResult refused =
      run_command(env + kant_exe() + " slurm " + kData + "tiny.yaml --results " + failing.string());
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.output, Catch::Contains("sbatch: error: Batch job submission failed"));

  // no sbatch at all: said before anything is written
  const fs::path nowhere = dir / "no-sbatch-results";
  CommandResult absent = run_command("PATH=" + (dir / "empty").string() + " " + kant_exe() +
                                     " slurm " + kData + "tiny.yaml --results " + nowhere.string());
  CHECK(absent.exit_code == 1);
  CHECK_THAT(absent.output,
             Catch::Contains("sbatch is not on PATH") && Catch::Contains("nothing written"));
  CHECK_FALSE(fs::exists(nowhere));
}

TEST_CASE("dynamic assignment: the next cell to whoever asks, every worker's end awaited",
          "[cluster][mpi]") {
  std::deque<size_t> queue{0, 1, 2, 3, 4};
  cluster::Coordinator c(queue, 3);
  CHECK(c.assign(2) == std::optional<size_t>(0));
  CHECK(c.assign(0) == std::optional<size_t>(1));
  CHECK(c.assign(2) == std::optional<size_t>(2));
  c.ended(2, 0, CellStatus::complete, true);
  c.ended(2, 2, CellStatus::elsewhere, false);
  CHECK(c.trained() == std::vector<int>{0, 0, 1});
  CHECK(c.assigned() == std::vector<int>{1, 0, 2});
  CHECK(c.abandon() == 2);
  CHECK_FALSE(c.assign(1));
  CHECK(c.exhausted());
  CHECK(c.unfinished() == 2);
  CHECK(c.others().complete == 1);  // worker 2's, as it ended
  CHECK(c.others().elsewhere == 1);
  c.ended(0, 1, CellStatus::complete, true);  // worker 0 counts its own
  CHECK(c.others().complete == 1);
  c.ended(1, 3, CellStatus::failed, true);
  CHECK(c.others().failed == 1);
  RunSummary s;
  s.signal = 15;
  c.finished(1, s);
  c.finished(1, s);  // once per worker
  CHECK(c.unfinished() == 1);
  c.finished(2, RunSummary{});
  CHECK(c.unfinished() == 0);
  CHECK(c.others().signal == 15);
}

TEST_CASE("kant --version says whether MPI is built in", "[cluster][mpi]") {
  CommandResult r = run_command(kant_exe() + " --version");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output,
             Catch::Matches("kant [0-9.]+ \\(commit .*\\)\nMPI: (not built in .*|.*for mpirun -n N "
                            "kant run)\noneDNN [0-9.]+: dispatches to [a-z0-9_]+; train.precision "
                            "bf16: (native|not available .*)\n?"));
}
