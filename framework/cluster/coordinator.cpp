// Dynamic assignment of cells (see coordinator.hpp).
#include "cluster/coordinator.hpp"

namespace kant::cluster {

Coordinator::Coordinator(std::deque<size_t>& queue, int workers)
    : queue_(queue), assigned_(workers, 0), trained_(workers, 0), finished_(workers, false) {}

std::optional<size_t> Coordinator::assign(int worker) {
  if (queue_.empty()) return std::nullopt;
  const size_t cell = queue_.front();
  queue_.pop_front();
  ++assigned_.at(worker);
  return cell;
}

size_t Coordinator::abandon() {
  const size_t n = queue_.size();
  queue_.clear();
  return n;
}

void Coordinator::ended(int worker, size_t, CellStatus status, bool trained) {
  if (trained) ++trained_.at(worker);
  if (worker == 0) return;  // worker 0's own runner counts its cells
  switch (status) {
    case CellStatus::complete:
      ++others_.complete;
      break;
    case CellStatus::diverged:
      ++others_.diverged;
      break;
    case CellStatus::elsewhere:
      ++others_.elsewhere;
      break;
    case CellStatus::interrupted:
      ++others_.interrupted;
      break;
    case CellStatus::failed:
      ++others_.failed;
      break;
    case CellStatus::stopped:
      ++others_.stopped;
      break;
  }
}

void Coordinator::finished(int worker, const RunSummary& s) {
  if (finished_.at(worker)) return;
  finished_[worker] = true;
  if (!others_.signal) others_.signal = s.signal;
}

int Coordinator::unfinished() const {
  int n = 0;
  for (size_t w = 1; w < finished_.size(); ++w) n += finished_[w] ? 0 : 1;
  return n;
}

}  // namespace kant::cluster
