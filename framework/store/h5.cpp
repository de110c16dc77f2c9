// HDF5 C API behind h5.hpp. Automatic error printing is off; every failure throws.
#include "store/h5.hpp"

#include <hdf5.h>

#include <algorithm>

#include <fmt/format.h>

#include "kant/error.hpp"

namespace kant::h5 {
namespace {

struct Silence {
  Silence() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const Silence g_silence;

hid check(hid id, const std::string& what) {
  if (id < 0) throw StorageError(fmt::format("HDF5: {} failed", what));
  return id;
}

void check_status(herr_t s, const std::string& what) {
  if (s < 0) throw StorageError(fmt::format("HDF5: {} failed", what));
}

Handle string_type() {
  hid t = check(H5Tcopy(H5T_C_S1), "string type");
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return Handle(t, H5Tclose);
}

Handle space_of(const Shape& shape) {
  if (shape.empty()) return Handle(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  return Handle(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                      "dataspace"),
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
    H5Pset_chunk(props.id(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_shuffle(props.id());
    H5Pset_deflate(props.id(), 4);
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
  if (id_ >= 0 && close_) close_(id_);
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
  H5Literate(
      id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
      },
      &names);
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
  Handle a(check(H5Acreate2(id(), name.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT,
                            H5P_DEFAULT),
                 "creating attribute " + name),
           H5Aclose);
  check_status(H5Awrite(a.id(), H5T_NATIVE_DOUBLE, &value), "writing attribute " + name);
}

void Group::set_attr(const std::string& name, int64_t value) {
  Handle space(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose);
  Handle a(check(H5Acreate2(id(), name.c_str(), H5T_STD_I64LE, space.id(), H5P_DEFAULT,
                            H5P_DEFAULT),
                 "creating attribute " + name),
           H5Aclose);
  check_status(H5Awrite(a.id(), H5T_NATIVE_INT64, &value), "writing attribute " + name);
}

bool Group::has_attr(const std::string& name) const { return H5Aexists(id(), name.c_str()) > 0; }

std::vector<std::string> Group::attr_names() const {
  std::vector<std::string> names;
  H5Aiterate2(
      id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
      },
      &names);
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
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  Shape s(dims.begin(), dims.end());
  std::vector<double> out(static_cast<size_t>(shape_numel(s)));
  if (!out.empty())
    check_status(H5Dread(ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
                 "reading dataset " + path_ + "/" + name);
  if (shape) *shape = s;
  return out;
}

File File::create(const std::filesystem::path& path) {
  hid f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) throw StorageError(fmt::format("{}: cannot create the HDF5 file", path.string()));
  return File(Handle(f, H5Fclose), path);
}

File File::open(const std::filesystem::path& path) {
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw StorageError(fmt::format("{}: not a readable HDF5 file", path.string()));
  hid f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw StorageError(fmt::format("{}: cannot open the HDF5 file", path.string()));
  return File(Handle(f, H5Fclose), path);
}

Group File::root() const {
  return Group(Handle(check(H5Gopen2(h_.id(), "/", H5P_DEFAULT), "opening /"), H5Gclose), "");
}

void File::flush() { check_status(H5Fflush(h_.id(), H5F_SCOPE_GLOBAL), "flush"); }

}  // namespace kant::h5
