#pragma once
// A whole-file walk with rnnx's HDF5 reader, describing everything it reaches as key/value
// pairs: the links of every group, every attribute (type class, shape, values) and every
// dataset (type class, element size, shape, values). The cross-check test compares it with
// the same description made through libhdf5; the fuzzer runs it to reach every code path.
//
// Keys and values (the test's libhdf5 walk makes the same ones):
//   "<path> kind"        group | dataset | datatype | other
//   "<path> links"       "name:type," for each link in name order (type 0 hard, 1 soft, 64 external)
//   "<path>@<name>"      "class=C shape=[d,...]" then " strings=" joined with '\x1f', or " bytes=" raw values
//   "<path> dataset"     "class=C size=S shape=[d,...]"
//   "<path> values"      raw value bytes as stored, or strings joined with '\x1f'
// C is libhdf5's H5T_class_t (variable-length strings report 3, string). Objects reached
// twice through hard links are described once (at the first path in name order).
//
// Requires: a Reader over a readable image.
// Errors: Damage from any structure, unless `keep_going`, where each failing item is
// recorded as "<key>" -> "error" and the walk goes on.
#include <functional>
#include <string>

#include "io/hdf5/h5_object.h"

namespace rnnx::detail::h5 {

struct WalkCounts {
  int groups = 0, datasets = 0, attributes = 0, links = 0;
};

WalkCounts walk_file(Reader& r, const std::function<void(const std::string& key, const std::string& value)>& out,
                     bool keep_going);

// "[d0,d1]" for dims.
std::string dims_text(const std::vector<uint64_t>& dims);

}  // namespace rnnx::detail::h5
