// The runner under real faults: signals to a running grid, its parent killed, two runs on one
// folder, a run in another PID namespace, a full file system, damaged and misplaced cell
// files, cells killed between checkpoints; and the claims, seals and atomic writes beneath.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include "core/sha256.hpp"
#include "kant/error.hpp"
#include "kant/rng.hpp"
#include "store/atomic_file.hpp"
#include "store/cell_file.hpp"
#include "store/claim.hpp"
#include "store/h5.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant;
using namespace kant::testing;
using namespace std::chrono_literals;

namespace {

const std::string kData = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/";

std::string run_cmd(const std::string& yaml, const fs::path& results,
                    const std::string& extra = "") {
  return kant_exe() + " run " + kData + yaml + " --results " + results.string() + " " + extra;
}

// Waits until `pred` holds or `timeout` passes; returns whether it held.
template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// The cells of a results folder: complete (verified) and the number of files that are not.
struct Tally {
  int complete = 0, failed = 0, damaged = 0;
};
Tally tally(const fs::path& cells) {
  Tally t;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cells, ec)) {
    if (e.path().extension() != ".h5") continue;
    try {
      CellSummary s = read_cell_summary(e.path());
      (s.status == CellStatus::failed ? t.failed : t.complete)++;
    } catch (const Error&) {
      ++t.damaged;
    }
  }
  return t;
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("SIGINT, SIGTERM and SIGHUP stop every child, nothing half-written, the rerun completes",
          "[reliability][signals]") {
  const fs::path dir = temp_dir("kant-signals");
  const fs::path results = dir / "r";
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    INFO("signal " << sig);
    const int pid = spawn_command("exec " + run_cmd("slow.yaml", results, "--jobs 2"), dir / "log");
    REQUIRE(wait_for([&] { return processes_matching("_cell - " + results.string()).size() == 2; },
                     20s));
    std::this_thread::sleep_for(1s);
    if (sig == SIGINT)
      ::kill(-pid, sig);  // Ctrl-C: the whole foreground group
    else
      ::kill(pid, sig);  // to the runner alone
    const int code = wait_command(pid);
    INFO(read_text(dir / "log"));
    CHECK(code == 128 + sig);
    CHECK(wait_for([&] { return processes_matching("_cell - " + results.string()).empty(); }, 5s));
    CHECK(files_matching(results, ".tmp.").empty());
    CHECK(files_matching(results, ".claim").empty());
    CHECK(tally(results / "slow" / "cells").damaged == 0);
  }
  CommandResult rerun = run_command(run_cmd("slow.yaml", results, "--jobs 2"));
  INFO(rerun.output);
  CHECK(rerun.exit_code == 0);
  CHECK(tally(results / "slow" / "cells").complete == 4);
}

TEST_CASE("a runner killed by SIGKILL takes its children with it", "[reliability][signals]") {
  const fs::path dir = temp_dir("kant-orphans");
  const fs::path results = dir / "r";
  const int pid = spawn_command("exec " + run_cmd("slow.yaml", results, "--jobs 2"), dir / "log");
  REQUIRE(
      wait_for([&] { return processes_matching("_cell - " + results.string()).size() == 2; }, 20s));
  ::kill(pid, SIGKILL);
  CHECK(wait_command(pid) == 128 + SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(wait_for([&] { return processes_matching("_cell - " + results.string()).empty(); }, 10s));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("children gone after " << seconds << " s");
  CHECK(seconds < 5);
  CHECK(files_matching(results, ".tmp.").empty());
}

TEST_CASE("two runs on one folder train every cell exactly once and both exit 0",
          "[reliability][concurrency]") {
  const fs::path dir = temp_dir("kant-two-runs");
  const fs::path results = dir / "r";
  const int a =
      spawn_command("exec " + run_cmd("slow.yaml", results, "--jobs 1 --threads 1"), dir / "a.log");
  const int b =
      spawn_command("exec " + run_cmd("slow.yaml", results, "--jobs 1 --threads 1"), dir / "b.log");
  const int code_a = wait_command(a), code_b = wait_command(b);
  const std::string log_a = read_text(dir / "a.log"), log_b = read_text(dir / "b.log");
  INFO(log_a << "\n----\n" << log_b);
  CHECK(code_a == 0);
  CHECK(code_b == 0);
  CHECK(count_of(log_a, "complete in") + count_of(log_b, "complete in") == 4);
  CHECK(tally(results / "slow" / "cells").complete == 4);
  CHECK(files_matching(results, ".claim").empty());
}

TEST_CASE("a run in another PID namespace respects the claims of this one",
          "[reliability][concurrency]") {
  if (run_command("unshare --pid --fork --mount-proc true").exit_code != 0) {
    WARN(
        "skipped: cannot create a PID namespace here (unshare --pid needs root or user "
        "namespaces)");
    return;
  }
  const fs::path dir = temp_dir("kant-pidns");
  const fs::path results = dir / "r";
  const int a =
      spawn_command("exec " + run_cmd("slow.yaml", results, "--jobs 1 --threads 1"), dir / "a.log");
  const int b = spawn_command(
      "unshare --pid --fork --mount-proc " + run_cmd("slow.yaml", results, "--jobs 1 --threads 1"),
      dir / "b.log");
  const int code_a = wait_command(a), code_b = wait_command(b);
  const std::string log_a = read_text(dir / "a.log"), log_b = read_text(dir / "b.log");
  INFO(log_a << "\n----\n" << log_b);
  CHECK(code_a == 0);
  CHECK(code_b == 0);
  CHECK(count_of(log_a, "complete in") + count_of(log_b, "complete in") == 4);
  CHECK(tally(results / "slow" / "cells").complete == 4);
}

TEST_CASE("a full file system: a clear error, no crash, nothing truncated, the rerun completes",
          "[reliability][disk]") {
  const fs::path dir = temp_dir("kant-full");
  const fs::path mnt = dir / "mnt";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m") != 0) {
    WARN("skipped: cannot mount a small tmpfs here (needs root)");
    return;
  }
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const fs::path results = mnt / "r";
  REQUIRE(run_command(run_cmd("tiny.yaml", results)).exit_code == 0);
  const std::string manifest = read_text(results / "tiny" / "cells.yaml");
  // leave about 60 KiB: the quickstart's cells (each ~160 KiB of samples) cannot be stored
  REQUIRE(run_command("dd if=/dev/zero of=" + (mnt / "filler").string() +
                      " bs=1k count=100000 2>/dev/null; "
                      "truncate -s -60k " +
                      (mnt / "filler").string())
              .exit_code == 0);
  CommandResult full = run_command(kant_exe() + " run " + std::string(KANT_TEST_SOURCE_DIR) +
                                   "/experiments/quickstart.yaml --set train.steps=10 --results " +
                                   results.string());
  INFO(full.output);
  CHECK(full.exit_code == 1);  // not a crash: no signal, a failure said in words
  CHECK_THAT(full.output, Catch::Contains("No space left on device"));
  CHECK(files_matching(results, ".tmp.").empty());
  CHECK(read_text(results / "tiny" / "cells.yaml") == manifest);
  CHECK(tally(results / "tiny" / "cells").complete == 4);
  CHECK(tally(results / "quickstart" / "cells").damaged == 0);
  // a run with nothing to do on the full disk keeps cells.yaml whole
  run_command(run_cmd("tiny.yaml", results));
  CHECK(read_text(results / "tiny" / "cells.yaml") == manifest);
  fs::remove(mnt / "filler");
  CommandResult rerun = run_command(kant_exe() + " run " + std::string(KANT_TEST_SOURCE_DIR) +
                                    "/experiments/quickstart.yaml --set train.steps=10 --results " +
                                    results.string());
  INFO(rerun.output);
  CHECK(rerun.exit_code == 0);
  CHECK(tally(results / "quickstart" / "cells").complete == 6);
}

TEST_CASE("damaged cell files are named, refused without a crash, kept aside and trained again",
          "[reliability][integrity]") {
  const fs::path dir = temp_dir("kant-damage");
  const fs::path results = dir / "r";
  REQUIRE(run_command(run_cmd("tiny.yaml", results)).exit_code == 0);
  const fs::path cells = results / "tiny" / "cells";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cells)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() == 4);
  const std::string pristine = read_text(files[0]);
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 25; ++trial) {  // single-bit flips anywhere in the file
    std::string bytes = pristine;
    const size_t at = rng() % bytes.size();
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
    { std::ofstream(files[0], std::ios::binary) << bytes; }
    INFO("flipped byte " << at);
    CommandResult show = run_command(kant_exe() + " show " + files[0].string());
    CHECK(show.exit_code == 1);
    CHECK_THAT(show.output, Catch::Contains(files[0].string()));
    CommandResult verify = run_command(kant_exe() + " verify " + (results / "tiny").string());
    CHECK(verify.exit_code == 1);
    CHECK_THAT(verify.output, Catch::Contains(files[0].filename().string()));
  }
  {
    std::ofstream(files[1], std::ios::binary) << read_text(files[1]).substr(0, 5000);
  }                                                        // truncated
  fs::copy_file(files[2], cells / "0000000000000000.h5");  // a cell under another's name
  CommandResult verify = run_command(kant_exe() + " verify " + (results / "tiny").string());
  INFO(verify.output);
  CHECK_THAT(verify.output, Catch::Contains("damaged: its content does not match its checksum"));
  CHECK_THAT(verify.output, Catch::Contains("not the cell its name says"));
  CommandResult report = run_command(kant_exe() + " report " + (results / "tiny").string());
  CHECK(report.exit_code == 0);
  CHECK_THAT(report.output, Catch::Contains("skipped " + files[0].string()));
  CommandResult rerun = run_command(run_cmd("tiny.yaml", results));
  INFO(rerun.output);
  CHECK(rerun.exit_code == 0);
  CHECK_THAT(rerun.output, Catch::Contains("training the cell again"));
  CHECK(files_matching(cells, ".damaged.").size() == 2);
  CHECK(tally(cells).complete == 4);
  CHECK(tally(cells).damaged == 1);  // the misnamed copy
  for (const fs::path& f : {files[0], files[1]}) CHECK_NOTHROW(read_cell_summary(f));
}

TEST_CASE("a folder where a cell file belongs fails that cell, not the run",
          "[reliability][integrity]") {
  const fs::path dir = temp_dir("kant-folder");
  const fs::path results = dir / "r";
  REQUIRE(run_command(kant_exe() + " validate " + kData + "tiny.yaml").exit_code == 0);
  CommandResult listing = run_command(kant_exe() + " validate " + kData + "tiny.yaml");
  std::smatch m;
  REQUIRE(std::regex_search(listing.output, m, std::regex("[0-9a-f]{16}")));
  const std::string id = m.str();
  fs::create_directories(results / "tiny" / "cells" / (id + ".h5"));
  CommandResult r = run_command(run_cmd("tiny.yaml", results));
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains(id + ".h5: is not a regular file"));
  CHECK_THAT(r.output, Catch::Contains("3 complete"));
}

TEST_CASE("a cell killed between checkpoints resumes and ends bit-identical",
          "[reliability][resume]") {
  const fs::path dir = temp_dir("kant-resume");
  // also with samples taken during training (kept in the checkpoint; spectral norm and the
  // weight average are put back after each), and with the Improved-GAN settings that draw from
  // streams of their own (noisy labels, instance noise) or keep a running mean
  const std::string sampling =
      GENERATE(std::string(), std::string(" --set train.sample_every=30"),
               std::string(" --set 'objective={plugin: nonsaturating, real_target: 0.9, flip: "
                           "0.1}' --set procedure.instance_noise=0.05 --set "
                           "procedure.historical_averaging=0.01"));
  INFO(sampling);
  const std::string set = " --jobs 1 --threads 1 --set seeds=[0]" + sampling;
  REQUIRE(run_command(run_cmd("slow.yaml", dir / "reference", set)).exit_code == 0);
  const fs::path results = dir / "r";
  const std::string cmd = run_cmd("slow.yaml", results, set + " --set train.checkpoint_every=40");
  for (int kill = 0; kill < 2; ++kill) {
    const int pid = spawn_command("exec " + cmd, dir / "log");
    // wait for a checkpoint newer than the last one, then kill the cell's process
    const fs::path ckpt =
        files_matching(results, ".ckpt").empty() ? fs::path() : files_matching(results, ".ckpt")[0];
    const auto before = ckpt.empty() ? fs::file_time_type() : fs::last_write_time(ckpt);
    REQUIRE(wait_for(
        [&] {
          auto c = files_matching(results, ".ckpt");
          return !c.empty() && c[0].extension() == ".ckpt" && fs::last_write_time(c[0]) != before;
        },
        30s));
    for (int child : processes_matching("_cell - " + results.string())) ::kill(child, SIGKILL);
    wait_command(pid);
  }
  CommandResult last = run_command(cmd);
  INFO(last.output);
  REQUIRE(last.exit_code == 0);
  CHECK_THAT(last.output, Catch::Contains("resumed (2 times)"));
  const fs::path a = files_matching(dir / "reference", ".h5")[0];
  const fs::path b = results / "slow" / "cells" / a.filename();
  REQUIRE(fs::exists(b));
  h5::File fa = h5::File::open(a), fb = h5::File::open(b);
  for (const char* name :
       {"step", "loss_critic", "loss_generator", "penalty", "divergence_estimate"})
    CHECK(fa.root().open_group("series").read(name) == fb.root().open_group("series").read(name));
  for (const char* name : {"step", "modes", "high_quality"})
    CHECK(fa.root().open_group("metrics").open_group("mode_coverage").read(name) ==
          fb.root().open_group("metrics").open_group("mode_coverage").read(name));
  CHECK(fa.root().open_group("samples").read("generated") ==
        fb.root().open_group("samples").read("generated"));
  if (sampling.find("sample_every") != std::string::npos)
    for (const char* name : {"step", "generated", "critic_surface"})
      CHECK(fa.root().open_group("snapshots").read(name) ==
            fb.root().open_group("snapshots").read(name));
  CHECK(fb.root().attr_int("resumes") == 2);
  CHECK(files_matching(results, ".ckpt").empty());  // removed once the cell is stored
}

TEST_CASE("claims: one holder at a time, a dead holder's claim is taken over, a live host's is not",
          "[reliability][claims]") {
  const fs::path dir = temp_dir("kant-claims");
  const fs::path file = dir / "cell.claim";
  std::optional<Claim> first = Claim::acquire(file, 120s);
  REQUIRE(first);
  std::string holder;
  CHECK_FALSE(Claim::acquire(file, 120s, &holder));  // a second open file description: locked out
  CHECK_THAT(holder, Catch::Contains("pid " + std::to_string(::getpid())));
  first->release();
  CHECK_FALSE(fs::exists(file));
  // a claim whose holder died on this kernel (no lock on it): taken over at once
  {
    std::ofstream(file) << "host x\nboot_id " << read_text("/proc/sys/kernel/random/boot_id")
                        << "pid 999999\n";
  }
  CHECK(Claim::acquire(file, 120s));
  // another host's claim with a recent heartbeat: kept; with an old one: taken over
  { std::ofstream(file) << "host elsewhere\nboot_id 00000000-other-boot\npid 1\n"; }
  CHECK_FALSE(Claim::acquire(file, 120s, &holder));
  CHECK_THAT(holder, Catch::Contains("heartbeat recent"));
  fs::last_write_time(file, fs::file_time_type::clock::now() - 10min);
  std::optional<Claim> taken = Claim::acquire(file, 120s);
  CHECK(taken);
  CHECK_THAT(read_text(file), Catch::Contains("pid " + std::to_string(::getpid())));
}

TEST_CASE("atomic writes never follow a symlink and leave no temporary on failure",
          "[reliability][files]") {
  const fs::path dir = temp_dir("kant-atomic");
  const fs::path victim = dir / "victim";
  { std::ofstream(victim) << "precious"; }
  fs::create_symlink(victim, dir / "link");
  CHECK_THROWS_WITH(write_file_atomically(dir / "link", "x"), Catch::Contains("symbolic link"));
  // a symlink planted at our temporary name
  fs::create_symlink(victim, temporary_path(dir / "target"));
  CHECK_THROWS_WITH(write_file_atomically(dir / "target", "x"), Catch::Contains("target"));
  CHECK(read_text(victim) == "precious");
  fs::remove(temporary_path(dir / "target"));
  write_file_atomically(dir / "target", "hello");
  CHECK(read_text(dir / "target") == "hello");
  CHECK(files_matching(dir, ".tmp.").empty());
  fs::create_directories(dir / "folder");
  CHECK_THROWS_WITH(write_file_atomically(dir / "folder", "x"), Catch::Contains("is a folder"));
}

TEST_CASE("SHA-256 test vectors and random streams that continue exactly from their state",
          "[reliability]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  Rng a(42, 3);
  a.normal();  // leaves a cached second normal
  Rng b(0);
  b.set_state(a.state());
  for (int i = 0; i < 5; ++i) CHECK(a.normal() == b.normal());
  CHECK(a.next_u64() == b.next_u64());
}

// The fault campaign's findings (docs/reliability.md, failures A–C and the cut spec), each
// reproduced for real and checked fixed.
TEST_CASE(
    "campaign findings: a complete cell's leftover claim, an empty old claim, a seal's open line, "
    "a cut spec",
    "[reliability][campaign]") {
  const fs::path dir = temp_dir("kant-findings");
  const fs::path results = dir / "r";
  REQUIRE(run_command(run_cmd("tiny.yaml", results)).exit_code == 0);
  const fs::path cells = results / "tiny" / "cells";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cells))
    if (e.path().extension() == ".h5") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() == 4);
  SECTION("A: the claim a killed runner left beside a cell it stored is removed by the rerun") {
    // what the runner leaves when SIGKILLed between its child's store and the reap: a claim
    // whose holder is gone (its lock free) beside a complete cell — made by a process that
    // takes the claim and dies without releasing it
    const fs::path claim = claim_path(files[0]);
    const pid_t holder = ::fork();
    if (holder == 0) {
      auto c = Claim::acquire(claim, 120s);
      ::_exit(c ? 0 : 1);  // no destructor: the file stays, as after a SIGKILL
    }
    int status = 0;
    ::waitpid(holder, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    REQUIRE(fs::exists(claim));
    const std::string before = read_text(files[0]);
    CommandResult r = run_command(run_cmd("tiny.yaml", results));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("4 done already"));
    CHECK_FALSE(fs::exists(claim));
    CHECK(read_text(files[0]) == before);  // skipped, not retrained
  }
  SECTION(
      "B: an empty claim seconds old (its creator died before writing it) does not stall the "
      "rerun") {
    fs::remove(files[1]);
    const fs::path claim = fs::path(files[1]).replace_extension(".claim");
    { std::ofstream touch(claim); }
    fs::last_write_time(claim, fs::file_time_type::clock::now() - 30s);
    const auto t0 = std::chrono::steady_clock::now();
    CommandResult r = run_command(run_cmd("tiny.yaml", results, "--claim-timeout 100"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < 60s);  // not the 100 s a live host's claim gets
    CHECK(tally(cells).complete == 4);
    CHECK(files_matching(cells, ".claim").empty());
  }
  SECTION(
      "C: a seal whose text ends in an open line (its first padding NUL turned into a space) is "
      "damaged") {
    std::string bytes = read_text(files[2]);
    const size_t nul = bytes.find('\0');
    REQUIRE(nul != std::string::npos);
    REQUIRE(nul < 512);
    bytes[nul] = ' ';
    { std::ofstream(files[2], std::ios::binary) << bytes; }
    CommandResult v = run_command(kant_exe() + " verify " + (results / "tiny").string());
    INFO(v.output);
    CHECK(v.exit_code == 1);
    CHECK_THAT(v.output,
               Catch::Contains(files[2].filename().string()) && Catch::Contains("damaged seal"));
  }
  SECTION("a cut or empty cell spec on a child's stdin is one error, exit 2, nothing written") {
    const fs::path out = dir / "x.h5";
    for (const char* spec :
         {"", "experiment: tiny\n", "experiment: tiny\ncell_id: 0123\nlabels: 3\nconfig: {}\n"}) {
      INFO("spec: " << spec);
      CommandResult r = run_command("printf '" + std::string(spec) + "' | " + kant_exe() +
                                    " _cell - " + out.string());
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.output, Catch::Contains("cell spec"));
      CHECK_FALSE(fs::exists(out));
    }
  }
}
