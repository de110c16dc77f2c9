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

void Coordinator::ended(int worker, size_t, const std::string& status, bool trained) {
  if (trained) ++trained_.at(worker);
  if (worker == 0) return;  // worker 0's own runner counts its cells
  if (status == "complete")
    ++others_.complete;
  else if (status == "diverged")
    ++others_.diverged;
  else if (status == "elsewhere")
    ++others_.elsewhere;
  else if (status == "interrupted")
    ++others_.interrupted;
  else
    ++others_.failed;
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
