// MPI runs (see mpi_run.hpp): rank 0 coordinates and trains, the other ranks ask it for cells.
// Messages (int64 payloads on a duplicate of MPI_COMM_WORLD):
//   rank → 0  request  {}                                   "a slot is free"
//   0 → rank  assign   {cell or -1}                         -1: no more cells
//   rank → 0  ended    {cell, status, milliseconds or -1}   a cell it took is over
//   rank → 0  finished {skipped, complete, diverged, failed, elsewhere, interrupted, signal}
#include "cluster/mpi_run.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "cluster/coordinator.hpp"
#include "kant/error.hpp"
#include "kant/hash.hpp"

#ifdef KANT_HAVE_MPI
#include <mpi.h>
#endif

namespace kant::cluster {

int mpi_world_size_from_environment() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(var)) {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  }
  if (std::getenv("PMIX_RANK") && std::getenv("SLURM_NTASKS"))
    return std::max(1, std::atoi(std::getenv("SLURM_NTASKS")));
  return 0;
}

#ifndef KANT_HAVE_MPI

std::string mpi_library() { return ""; }

MpiOutcome run_experiment_mpi(const Experiment&, const Registry&, RunOptions) {
  throw InputError(
      "this kant was built without MPI, so under mpirun every rank would train the whole grid; "
      "install an MPI library (Debian: libopenmpi-dev) and build again (kant --version says "
      "whether "
      "MPI is in), or use kant run --shard I/N or kant slurm");
}

#else

namespace {

enum Tag : int { kRequest = 1, kAssign = 2, kEnded = 3, kFinished = 4 };
// A cell's status on the wire: its place in CellStatus (every rank runs the same kant).
int64_t status_code(CellStatus s) { return static_cast<int64_t>(s); }

CellStatus status_of(int64_t code) {
  return code >= 0 && code <= status_code(CellStatus::stopped) ? static_cast<CellStatus>(code)
                                                               : CellStatus::failed;
}

// a cell whose process ran and stored an outcome
bool trained(CellStatus status, double seconds) { return seconds >= 0 && is_stored(status); }

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, text, &n);
    throw Error(fmt::format("MPI: {} failed: {}", what, std::string(text, static_cast<size_t>(n))));
  }
}

// Rank 0: its own runner's cells and every other rank's, from one queue.
class RankZeroSource : public CellSource {
 public:
  RankZeroSource(MPI_Comm comm, int size) : comm_(comm), size_(size) {}

  bool owns_queue() const override { return true; }
  void attach(std::deque<size_t>& queue, GridProgress& progress) override {
    coordinator_.emplace(queue, size_);
    queue_ = &queue;
    progress_ = &progress;
  }
  std::optional<size_t> next() override { return coordinator_->assign(0); }
  bool exhausted() const override { return coordinator_->exhausted(); }
  size_t abandon() override {
    for (size_t i : *queue_) progress_->add(i, GridProgress::State::failed);
    return coordinator_->abandon();
  }
  void ended(size_t cell, CellStatus status, double seconds) override {
    coordinator_->ended(0, cell, status, trained(status, seconds));
  }
  void poll() override {
    while (true) {
      int flag = 0;
      MPI_Status st;
      check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &st), "MPI_Iprobe");
      if (!flag) return;
      int64_t msg[8] = {0};
      check(MPI_Recv(msg, 8, MPI_INT64_T, st.MPI_SOURCE, st.MPI_TAG, comm_, MPI_STATUS_IGNORE),
            "MPI_Recv");
      const int from = st.MPI_SOURCE;
      if (st.MPI_TAG == kRequest) {
        const std::optional<size_t> cell = coordinator_->assign(from);
        int64_t answer = cell ? static_cast<int64_t>(*cell) : -1;
        check(MPI_Send(&answer, 1, MPI_INT64_T, from, kAssign, comm_), "MPI_Send");
        if (cell) progress_->started(*cell);
      } else if (st.MPI_TAG == kEnded) {
        const size_t cell = static_cast<size_t>(msg[0]);
        const double seconds = msg[2] < 0 ? -1 : static_cast<double>(msg[2]) / 1000.0;
        const CellStatus status = status_of(msg[1]);
        coordinator_->ended(from, cell, status, trained(status, seconds));
        progress_->ended(cell, status, seconds);
      } else if (st.MPI_TAG == kFinished) {
        RunSummary s;
        s.skipped = static_cast<int>(msg[0]), s.complete = static_cast<int>(msg[1]);
        s.diverged = static_cast<int>(msg[2]), s.failed = static_cast<int>(msg[3]);
        s.elsewhere = static_cast<int>(msg[4]), s.interrupted = static_cast<int>(msg[5]);
        s.signal = static_cast<int>(msg[6]);
        coordinator_->finished(from, s);
      }
    }
  }
  bool may_end() const override { return coordinator_->unfinished() == 0; }
  int slots(int jobs) const override { return jobs * size_; }
  std::string tag_suffix() const override { return ", rank 0"; }
  std::string describe_workers(int jobs, int threads) const override {
    return fmt::format("{} ranks, {} at a time each, {} thread{} each", size_, jobs, threads,
                       threads == 1 ? "" : "s");
  }
  const Coordinator& coordinator() const { return *coordinator_; }

 private:
  MPI_Comm comm_;
  int size_;
  std::optional<Coordinator> coordinator_;
  std::deque<size_t>* queue_ = nullptr;
  GridProgress* progress_ = nullptr;
};

// Ranks other than 0: one request at a time to rank 0.
class WorkerSource : public CellSource {
 public:
  WorkerSource(MPI_Comm comm, int rank) : comm_(comm), rank_(rank) {}

  bool owns_queue() const override { return false; }
  void attach(std::deque<size_t>&, GridProgress&) override {}
  std::optional<size_t> next() override {
    if (no_more_) return std::nullopt;
    if (!asking_) {
      int64_t nothing = 0;
      check(MPI_Send(&nothing, 1, MPI_INT64_T, 0, kRequest, comm_), "MPI_Send");
      check(MPI_Irecv(&answer_, 1, MPI_INT64_T, 0, kAssign, comm_, &request_), "MPI_Irecv");
      asking_ = true;
    }
    int flag = 0;
    check(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (!flag) return std::nullopt;
    asking_ = false;
    if (answer_ < 0) {
      no_more_ = true;
      return std::nullopt;
    }
    return static_cast<size_t>(answer_);
  }
  bool exhausted() const override { return no_more_; }
  size_t abandon() override {
    size_t n = 0;
    if (asking_) {  // rank 0 answers at once: a cell it handed us is one we cannot start
      check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
      asking_ = false;
      if (answer_ >= 0) {
        ended(static_cast<size_t>(answer_), CellStatus::failed, -1);
        n = 1;
      }
    }
    no_more_ = true;
    return n;
  }
  void ended(size_t cell, CellStatus status, double seconds) override {
    int64_t msg[3] = {static_cast<int64_t>(cell), status_code(status),
                      seconds < 0 ? -1 : static_cast<int64_t>(seconds * 1000.0)};
    check(MPI_Send(msg, 3, MPI_INT64_T, 0, kEnded, comm_), "MPI_Send");
  }
  void poll() override {}
  bool may_end() const override { return true; }
  int slots(int jobs) const override { return jobs; }
  std::string tag_suffix() const override { return fmt::format(", rank {}", rank_); }
  std::string describe_workers(int, int) const override { return ""; }
  void finish(const RunSummary& s) {
    if (asking_) {  // stopped by a signal while asking: a cell rank 0 handed us is left to do
      MPI_Status st;
      MPI_Cancel(&request_);
      check(MPI_Wait(&request_, &st), "MPI_Wait");
      int cancelled = 0;
      MPI_Test_cancelled(&st, &cancelled);
      asking_ = false;
      if (!cancelled && answer_ >= 0)
        ended(static_cast<size_t>(answer_), CellStatus::interrupted, -1);
    }
    int64_t msg[7] = {s.skipped,   s.complete,    s.diverged, s.failed,
                      s.elsewhere, s.interrupted, s.signal};
    check(MPI_Send(msg, 7, MPI_INT64_T, 0, kFinished, comm_), "MPI_Send");
  }

 private:
  MPI_Comm comm_;
  int rank_;
  bool asking_ = false, no_more_ = false;
  int64_t answer_ = -1;
  MPI_Request request_ = MPI_REQUEST_NULL;
};

// Every rank must expand the same grid into the same folder (same file, same --set, same
// plugins): a hash of the folder and the cell ids, compared through min and max.
void check_same_grid(const Experiment& ex, const RunOptions& opt, MPI_Comm comm, int rank) {
  std::string text =
      std::filesystem::absolute(experiment_dir(ex, opt)).lexically_normal().string() + "\n";
  for (const Cell& c : ex.cells) text += c.id + "\n";
  const uint64_t h = fnv1a64(text.data(), text.size());
  uint64_t lo = 0, hi = 0;
  check(MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, comm), "MPI_Allreduce");
  check(MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce");
  if (lo != hi) {
    MPI_Finalize();
    throw InputError(
        fmt::format("rank {}: the ranks expanded different grids or results folders from {} "
                    "(a file or plugin differing between hosts, or a relative --results?)",
                    rank, ex.file.string()));
  }
}

}  // namespace

std::string mpi_library() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int n = 0;
  if (MPI_Get_library_version(text, &n) != MPI_SUCCESS) return "MPI";
  std::string s(text, static_cast<size_t>(n));
  if (size_t comma = s.find(','); comma != std::string::npos) s.resize(comma);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  int version = 0, subversion = 0;
  MPI_Get_version(&version, &subversion);
  return fmt::format("{} (MPI {}.{})", s, version, subversion);
}

MpiOutcome run_experiment_mpi(const Experiment& ex, const Registry& registry, RunOptions opt) {
  check(MPI_Init(nullptr, nullptr), "MPI_Init");
  MPI_Comm comm;
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
  MpiOutcome out;
  MPI_Comm_rank(comm, &out.rank);
  MPI_Comm_size(comm, &out.size);
  MPI_Comm node;  // the ranks on this host share its cores
  check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, out.rank, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  int local_ranks = 1;
  MPI_Comm_size(node, &local_ranks);
  MPI_Comm_free(&node);
  check_same_grid(ex, opt, comm, out.rank);

  if (opt.jobs == 0) opt.jobs = 1;
  if (opt.threads == 0) {
    // bound to a subset of the host's cores (mpirun --bind-to …): all of them; else a share
    const int cores = available_cores();
    const long host = sysconf(_SC_NPROCESSORS_ONLN);
    const int share = cores < host ? cores : cores / std::max(1, local_ranks);
    opt.threads = std::max(1, share / opt.jobs);
  }
  if (out.rank == 0) {
    RankZeroSource source(comm, out.size);
    RunSummary own = run_experiment(ex, registry, opt, &source);
    const Coordinator& c = source.coordinator();
    out.summary = own;
    const RunSummary& o = c.others();
    out.summary.complete += o.complete, out.summary.diverged += o.diverged,
        out.summary.failed += o.failed;
    out.summary.elsewhere += o.elsewhere, out.summary.interrupted += o.interrupted;
    out.summary.stopped += o.stopped;
    out.trained = c.trained();
    out.assigned = c.assigned();
    if (!out.summary.signal) out.summary.signal = o.signal;
  } else {
    WorkerSource source(comm, out.rank);
    out.summary = run_experiment(ex, registry, opt, &source);
    source.finish(out.summary);  // also after a signal: rank 0 waits for every rank's word
  }
  MPI_Comm_free(&comm);
  MPI_Finalize();
  return out;
}

#endif

}  // namespace kant::cluster
