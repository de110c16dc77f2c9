// HDF5 C API behind h5.hpp. Automatic error printing is off; every failure throws.
#include "store/h5.hpp"

#include <fmt/format.h>
#include <hdf5.h>

#include <algorithm>

#include "kant/error.hpp"

namespace kant::h5 {
namespace {

struct Silence {
  Silence() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const Silence g_silence;

// The innermost message of HDF5's error stack (the most specific reason, e.g. the write that
// failed with "No space left on device"), then the stack is cleared.
std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        if (e->desc && *e->desc) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &reason);
  H5Eclear2(H5E_DEFAULT);
  const size_t m = reason.find("error message = '");
  if (m != std::string::npos) {  // the operating system's reason, e.g. "No space left on device"
    const size_t start = m + 17, end = reason.find('\'', start);
    reason = reason.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  return reason.empty() ? "" : " (" + reason + ")";
}

hid check(hid id, const std::string& what) {
  if (id < 0) throw StorageError(fmt::format("HDF5: {} failed{}", what, hdf5_reason()));
  return id;
}

void check_status(herr_t s, const std::string& what) {
  if (s < 0) throw StorageError(fmt::format("HDF5: {} failed{}", what, hdf5_reason()));
}

Handle string_type() {
  Handle t(check(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
  check_status(H5Tset_size(t.id(), H5T_VARIABLE), "string type");
  check_status(H5Tset_cset(t.id(), H5T_CSET_UTF8), "string type");
  return t;
}

Handle space_of(const Shape& shape) {
  if (shape.empty()) return Handle(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Handle(
      check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "dataspace"),
      H5Sclose);
}

void write_dataset(const Group& g, const std::string& name, hid mem_type, hid file_type,
                   const void* data, const Shape& shape) {
  Handle space = space_of(shape);
  Handle props(check(H5Pcreate(H5P_DATASET_CREATE), "property list"), H5Pclose);
  if (!shape.empty() && shape_numel(shape) > 0) {
    std::vector<hsize_t> chunk(shape.begin(), shape.end());
    // rows per chunk: about 64 KiB of data
    hsize_t row = 1;
    for (size_t i = 1; i < chunk.size(); ++i) row *= chunk[i];
    chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(chunk[0], 8192 / std::max<hsize_t>(row, 1)));
    check_status(H5Pset_chunk(props.id(), static_cast<int>(chunk.size()), chunk.data()),
                 "chunking");
    check_status(H5Pset_shuffle(props.id()), "shuffle filter");
    check_status(H5Pset_deflate(props.id(), 4), "deflate filter");
  }
  const std::string full = g.path() + "/" + name;
  Handle ds(check(H5Dcreate2(g.id(), name.c_str(), file_type, space.id(), H5P_DEFAULT, props.id(),
                             H5P_DEFAULT),
                  "creating dataset " + full),
            H5Dclose);
  if (shape_numel(shape) > 0)
    check_status(H5Dwrite(ds.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                 "writing dataset " + full);
}

Handle open_attr(hid obj, const std::string& name, const std::string& where) {
  hid a = H5Aopen(obj, name.c_str(), H5P_DEFAULT);
  if (a < 0) throw StorageError(fmt::format("HDF5: no attribute '{}' on {}", name, where));
  return Handle(a, H5Aclose);
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (id_ >= 0 && close_) close_(id_);
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

Handle::~Handle() {
  if (id_ >= 0 && close_ && close_(id_) < 0) H5Eclear2(H5E_DEFAULT);
}

int Handle::close() {
  int status = 0;
  if (id_ >= 0 && close_) status = close_(id_);
  id_ = -1;
  return status;
}

Group Group::create_group(const std::string& name) {
  return Group(Handle(check(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                            "creating group " + path_ + "/" + name),
                      H5Gclose),
               path_ + "/" + name);
}

Group Group::open_group(const std::string& name) const {
  hid g = H5Gopen2(id(), name.c_str(), H5P_DEFAULT);
  if (g < 0) throw StorageError(fmt::format("HDF5: no group '{}' in {}", name, path_));
  return Group(Handle(g, H5Gclose), path_ + "/" + name);
}

bool Group::exists(const std::string& name) const {
  return H5Lexists(id(), name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<std::string> Group::children() const {
  std::vector<std::string> names;
  check_status(H5Literate(
                   id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
                   [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
                     static_cast<std::vector<std::string>*>(out)->push_back(name);
                     return 0;
                   },
                   &names),
               "listing " + path_);
  std::sort(names.begin(), names.end());
  return names;
}

void Group::set_attr(const std::string& name, const std::string& value) {
  Handle type = string_type();
  Handle space(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  Handle a(check(H5Acreate2(id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                 "creating attribute " + name),
           H5Aclose);
  const char* p = value.c_str();
  check_status(H5Awrite(a.id(), type.id(), &p), "writing attribute " + name);
}

void Group::set_attr(const std::string& name, double value) {
  Handle space(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  Handle a(
      check(H5Acreate2(id(), name.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
            "creating attribute " + name),
      H5Aclose);
  check_status(H5Awrite(a.id(), H5T_NATIVE_DOUBLE, &value), "writing attribute " + name);
}

void Group::set_attr(const std::string& name, int64_t value) {
  Handle space(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  Handle a(
      check(H5Acreate2(id(), name.c_str(), H5T_STD_I64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
            "creating attribute " + name),
      H5Aclose);
  check_status(H5Awrite(a.id(), H5T_NATIVE_INT64, &value), "writing attribute " + name);
}

bool Group::has_attr(const std::string& name) const { return H5Aexists(id(), name.c_str()) > 0; }

std::vector<std::string> Group::attr_names() const {
  std::vector<std::string> names;
  check_status(H5Aiterate2(
                   id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
                   [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
                     static_cast<std::vector<std::string>*>(out)->push_back(name);
                     return 0;
                   },
                   &names),
               "listing the attributes of " + path_);
  return names;
}

std::string Group::attr_string(const std::string& name) const {
  Handle a = open_attr(id(), name, path_);
  Handle ftype(check(H5Aget_type(a.id()), "attribute type"), H5Tclose);
  if (H5Tget_class(ftype.id()) != H5T_STRING)
    throw StorageError(fmt::format("HDF5: attribute '{}' on {} is not a string", name, path_));
  if (H5Tis_variable_str(ftype.id()) > 0) {
    Handle type = string_type();
    char* p = nullptr;
    check_status(H5Aread(a.id(), type.id(), &p), "reading attribute " + name);
    std::string s = p ? p : "";
    Handle space(check(H5Aget_space(a.id()), "dataspace"), H5Sclose);
    H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, &p);
    return s;
  }
  size_t n = H5Tget_size(ftype.id());
  if (n == 0)
    throw StorageError(fmt::format("HDF5: attribute '{}' on {} has no size", name, path_));
  std::string s(n, '\0');
  check_status(H5Aread(a.id(), ftype.id(), s.data()), "reading attribute " + name);
  return s.substr(0, s.find('\0'));
}

double Group::attr_double(const std::string& name) const {
  Handle a = open_attr(id(), name, path_);
  double v = 0;
  check_status(H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v), "reading attribute " + name);
  return v;
}

int64_t Group::attr_int(const std::string& name) const {
  Handle a = open_attr(id(), name, path_);
  int64_t v = 0;
  check_status(H5Aread(a.id(), H5T_NATIVE_INT64, &v), "reading attribute " + name);
  return v;
}

void Group::write(const std::string& name, const std::vector<double>& data, const Shape& shape) {
  write_dataset(*this, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, data.data(), shape);
}

void Group::write(const std::string& name, const std::vector<int64_t>& data, const Shape& shape) {
  write_dataset(*this, name, H5T_NATIVE_INT64, H5T_STD_I64LE, data.data(), shape);
}

void Group::write(const std::string& name, const float* data, const Shape& shape) {
  write_dataset(*this, name, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, data, shape);
}

std::vector<double> Group::read(const std::string& name, Shape* shape) const {
  hid d = H5Dopen2(id(), name.c_str(), H5P_DEFAULT);
  if (d < 0) throw StorageError(fmt::format("HDF5: no dataset '{}' in {}", name, path_));
  Handle ds(d, H5Dclose);
  Handle space(check(H5Dget_space(ds.id()), "dataspace"), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) check_status(rank, "reading the shape of " + path_ + "/" + name);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0)
    check_status(H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr),
                 "reading the shape of " + path_ + "/" + name);
  Shape s(dims.begin(), dims.end());
  std::vector<double> out(static_cast<size_t>(shape_numel(s)));
  if (!out.empty())
    check_status(H5Dread(ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
                 "reading dataset " + path_ + "/" + name);
  if (shape) *shape = s;
  return out;
}

std::vector<int64_t> Group::read_int64(const std::string& name) const {
  hid d = H5Dopen2(id(), name.c_str(), H5P_DEFAULT);
  if (d < 0) throw StorageError(fmt::format("HDF5: no dataset '{}' in {}", name, path_));
  Handle ds(d, H5Dclose);
  Handle space(check(H5Dget_space(ds.id()), "dataspace"), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  if (n < 0) check_status(-1, "reading the size of " + path_ + "/" + name);
  std::vector<int64_t> out(static_cast<size_t>(n));
  if (!out.empty())
    check_status(H5Dread(ds.id(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
                 "reading dataset " + path_ + "/" + name);
  return out;
}

void Group::copy_child(const std::string& name, Group& to) const {
  check_status(H5Ocopy(id(), name.c_str(), to.id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
               "copying " + path_ + "/" + name);
}

void Group::copy_attributes(Group& to, const std::function<bool(const std::string&)>& skip) const {
  for (const std::string& name : attr_names()) {
    if (skip && skip(name)) continue;
    Handle a = open_attr(id(), name, path_);
    Handle type(check(H5Aget_type(a.id()), "attribute type"), H5Tclose);
    Handle space(check(H5Aget_space(a.id()), "dataspace"), H5Sclose);
    const hssize_t n = H5Sget_simple_extent_npoints(space.id());
    const size_t size = H5Tget_size(type.id());
    if (n < 0 || size == 0) check_status(-1, "the size of attribute " + name);
    // read and written in the file's own type: variable-length strings come back as pointers
    std::vector<unsigned char> buffer(static_cast<size_t>(n) * size);
    check_status(H5Aread(a.id(), type.id(), buffer.data()), "reading attribute " + name);
    Handle copy(
        check(H5Acreate2(to.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
              "creating attribute " + name),
        H5Aclose);
    const herr_t written = H5Awrite(copy.id(), type.id(), buffer.data());
    if (H5Tdetect_class(type.id(), H5T_VLEN) > 0 || H5Tis_variable_str(type.id()) > 0)
      H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, buffer.data());
    check_status(written, "writing attribute " + name);
  }
}

File File::create(const std::filesystem::path& path, uint64_t userblock) {
  Handle fcpl(check(H5Pcreate(H5P_FILE_CREATE), "property list"), H5Pclose);
  if (userblock > 0) check_status(H5Pset_userblock(fcpl.id(), userblock), "user block");
  // closing the file closes whatever of it is still open: nothing lingers to exit time
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "property list"), H5Pclose);
  check_status(H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_STRONG), "close degree");
  // H5F_ACC_EXCL is O_CREAT|O_EXCL: an existing file or a symlink at `path` is an error
  hid f = H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.id(), fapl.id());
  if (f < 0)
    throw StorageError(
        fmt::format("{}: cannot create the HDF5 file{}", path.string(), hdf5_reason()));
  return File(Handle(f, H5Fclose), path);
}

File File::create_in_memory(const std::string& name, uint64_t userblock) {
  Handle fcpl(check(H5Pcreate(H5P_FILE_CREATE), "property list"), H5Pclose);
  if (userblock > 0) check_status(H5Pset_userblock(fcpl.id(), userblock), "user block");
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "property list"), H5Pclose);
  check_status(H5Pset_fapl_core(fapl.id(), 1 << 20, /*backing_store=*/0), "in-memory driver");
  check_status(H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_STRONG), "close degree");
  hid f = H5Fcreate(name.c_str(), H5F_ACC_EXCL, fcpl.id(), fapl.id());
  if (f < 0)
    throw StorageError(
        fmt::format("{}: cannot create the HDF5 file in memory{}", name, hdf5_reason()));
  return File(Handle(f, H5Fclose), name);
}

std::string File::image() {
  check_status(H5Fflush(h_.id(), H5F_SCOPE_GLOBAL), "flush of " + path_.string());
  const ssize_t n = H5Fget_file_image(h_.id(), nullptr, 0);
  if (n < 0) check_status(-1, "the image of " + path_.string());
  std::string bytes(static_cast<size_t>(n), '\0');
  if (H5Fget_file_image(h_.id(), bytes.data(), bytes.size()) != n)
    check_status(-1, "the image of " + path_.string());
  return bytes;
}

File File::open(const std::filesystem::path& path) {
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StorageError(fmt::format("{}: not a readable HDF5 file", path.string()));
  }
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "property list"), H5Pclose);
  check_status(H5Pset_fclose_degree(fapl.id(), H5F_CLOSE_STRONG), "close degree");
  hid f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id());
  if (f < 0)
    throw StorageError(
        fmt::format("{}: cannot open the HDF5 file{}", path.string(), hdf5_reason()));
  return File(Handle(f, H5Fclose), path);
}

void File::close() {
  if (h_.id() < 0) return;
  const herr_t flushed = H5Fflush(h_.id(), H5F_SCOPE_GLOBAL);
  std::string reason = flushed < 0 ? hdf5_reason() : "";
  const int closed = h_.close();
  if (closed < 0 && reason.empty()) reason = hdf5_reason();
  if (flushed < 0 || closed < 0)
    throw StorageError(fmt::format("{}: cannot be written{}", path_.string(), reason));
}

Group File::root() const {
  return Group(Handle(check(H5Gopen2(h_.id(), "/", H5P_DEFAULT), "opening /"), H5Gclose), "");
}

void File::flush() {
  check_status(H5Fflush(h_.id(), H5F_SCOPE_GLOBAL), "flush of " + path_.string());
}

}  // namespace kant::h5
