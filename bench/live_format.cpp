// The measurement that chose the live-series format (docs/live.md): what one training step pays
// to record a row of 4 losses, and what a reader pays to see the file, for (a) our append-only
// file of checksummed records (store/live_series.hpp) and (b) HDF5 1.10 single-writer/
// multiple-reader: a chunked, extendible dataset per loss, grown and written each step, flushed
// (H5Dflush) every 2 s, the file opened with H5F_ACC_SWMR_WRITE.
// Usage: kant_live_format [STEPS] [DIR]
#include <hdf5.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "store/live_series.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

const char* kLosses[] = {"loss_critic", "loss_generator", "penalty", "divergence_estimate"};

double records(const fs::path& file, int64_t steps, double* read_s, uint64_t* bytes) {
  const auto t = Clock::now();
  {
    kant::LiveSeriesWriter w(file, {{"steps", std::to_string(steps)}},
                             std::chrono::milliseconds(2000));
    w.start();
    for (int64_t s = 1; s <= steps; ++s) {
      std::map<std::string, double> row;
      for (int k = 0; k < 4; ++k) row[kLosses[k]] = 0.001 * static_cast<double>(s + k);
      w.losses(s, 0.0, row);
    }
  }
  const double write = seconds_since(t);
  const auto r = Clock::now();
  const kant::LiveSeries s = kant::read_live_series(file);
  *read_s = seconds_since(r);
  *bytes = s.file_bytes;
  if (s.step() != steps)
    std::fprintf(stderr, "records: read back %lld steps\n", (long long)s.step());
  return write;
}

double swmr(const fs::path& file, int64_t steps, double* read_s, uint64_t* bytes) {
  const auto t = Clock::now();
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);  // SWMR needs the latest
  hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  std::vector<hid_t> sets;
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 1024;
  for (int k = 0; k < 4; ++k) {
    hid_t space = H5Screate_simple(1, &zero, &unlimited);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    sets.push_back(
        H5Dcreate2(f, kLosses[k], H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  H5Fstart_swmr_write(f);
  auto last_flush = Clock::now();
  for (int64_t s = 1; s <= steps; ++s) {
    const hsize_t n = static_cast<hsize_t>(s), at = n - 1, one = 1;
    for (int k = 0; k < 4; ++k) {
      H5Dset_extent(sets[k], &n);
      hid_t fs_ = H5Dget_space(sets[k]);
      H5Sselect_hyperslab(fs_, H5S_SELECT_SET, &at, nullptr, &one, nullptr);
      hid_t ms = H5Screate_simple(1, &one, nullptr);
      const double v = 0.001 * static_cast<double>(s + k);
      H5Dwrite(sets[k], H5T_NATIVE_DOUBLE, ms, fs_, H5P_DEFAULT, &v);
      H5Sclose(ms);
      H5Sclose(fs_);
    }
    if (seconds_since(last_flush) >= 2.0) {
      for (hid_t d : sets) H5Dflush(d);
      last_flush = Clock::now();
    }
  }
  for (hid_t d : sets) H5Dclose(d);
  H5Fclose(f);
  H5Pclose(fapl);
  const double write = seconds_since(t);
  const auto r = Clock::now();
  hid_t rf = H5Fopen(file.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
  for (int k = 0; k < 4; ++k) {
    hid_t d = H5Dopen2(rf, kLosses[k], H5P_DEFAULT);
    std::vector<double> v(static_cast<size_t>(steps));
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Dclose(d);
  }
  H5Fclose(rf);
  *read_s = seconds_since(r);
  *bytes = fs::file_size(file);
  return write;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::stoll(argv[1]) : 100000;
  const fs::path dir = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path();
  std::printf("%lld steps of 4 losses each\n", static_cast<long long>(steps));
  for (int round = 0; round < 3; ++round) {  // interleaved
    double read_r, read_h;
    uint64_t bytes_r, bytes_h;
    fs::remove(dir / "bench.live");
    const double r = records(dir / "bench.live", steps, &read_r, &bytes_r);
    const double h = swmr(dir / "bench_swmr.h5", steps, &read_h, &bytes_h);
    std::printf(
        "round %d: records %.2f µs/step (read %.1f ms, %.1f MB)   HDF5 SWMR %.2f µs/step (read "
        "%.1f ms, %.1f MB)\n",
        round, 1e6 * r / static_cast<double>(steps), 1e3 * read_r, bytes_r / 1e6,
        1e6 * h / static_cast<double>(steps), 1e3 * read_h, bytes_h / 1e6);
  }
  fs::remove(dir / "bench.live");
  fs::remove(dir / "bench_swmr.h5");
  return 0;
}
