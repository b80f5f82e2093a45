// Whole-file walk (see h5_walk.h).
#include "io/hdf5/h5_walk.h"

#include <set>

namespace rnnx::detail::h5 {

namespace {

int class_code(const Datatype& t) {
  if (t.cls == TypeClass::vlen && t.vlen_string) return static_cast<int>(TypeClass::string);
  return static_cast<int>(t.cls);
}

bool is_string(const Datatype& t) { return t.cls == TypeClass::string || (t.cls == TypeClass::vlen && t.vlen_string); }

std::string join_strings(const std::vector<std::string>& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += '\x1f';
    out += s[i];
  }
  return out;
}

struct Walker {
  Reader& r;
  const std::function<void(const std::string&, const std::string&)>& out;
  bool keep_going;
  WalkCounts counts;
  std::set<uint64_t> seen;

  template <class F>
  void item(const std::string& key, F&& f) {
    if (!keep_going) return f();
    try {
      f();
    } catch (const Error&) {
      out(key, "error");
    }
  }

  void attributes(const std::string& path, uint64_t addr) {
    item(path + " attributes", [&] {
      for (const Attribute& a : r.attributes(addr)) {
        ++counts.attributes;
        const std::string key = path + "@" + a.name;
        item(key, [&] {
          std::string v = "class=" + std::to_string(class_code(a.type)) +
                          " shape=" + (a.space.kind == Dataspace::null ? std::string("null") : dims_text(a.space.dims));
          if (is_string(a.type))
            v += " strings=" + join_strings(r.strings(a.type, a.data, a.space.count()));
          else if (a.type.cls != TypeClass::vlen && a.type.cls != TypeClass::reference)
            v += " bytes=" + std::string(a.data.begin(), a.data.end());
          out(key, v);
        });
      }
    });
  }

  void object(const std::string& path, uint64_t addr, int depth) {
    if (depth > kMaxGroupDepth || !seen.insert(addr).second) return;
    const ObjectKind kind = r.kind(addr);
    static const char* names[] = {"group", "dataset", "datatype", "other"};
    out(path + " kind", names[static_cast<int>(kind)]);
    attributes(path, addr);
    if (kind == ObjectKind::dataset) {
      ++counts.datasets;
      item(path + " dataset", [&] {
        const DatasetParts d = r.dataset(addr);
        out(path + " dataset", "class=" + std::to_string(class_code(d.type)) + " size=" +
                                   std::to_string(reported_size(d.type)) + " shape=" + dims_text(d.space.dims));
        const std::vector<uint8_t> raw = r.values(d);
        if (is_string(d.type))
          out(path + " values", join_strings(r.strings(d.type, raw, d.space.count())));
        else if (d.type.cls != TypeClass::vlen && d.type.cls != TypeClass::reference)
          out(path + " values", std::string(raw.begin(), raw.end()));
      });
    }
    if (kind != ObjectKind::group) return;
    ++counts.groups;
    std::vector<Link> links;
    item(path + " links", [&] {
      links = r.links(addr);
      std::string v;
      for (const Link& l : links) v += l.name + ":" + std::to_string(l.type) + ",";
      out(path + " links", v);
    });
    for (const Link& l : links) {
      ++counts.links;
      if (l.type != Link::hard) continue;
      const std::string child = path == "/" ? "/" + l.name : path + "/" + l.name;
      item(child + " kind", [&] { object(child, l.address, depth + 1); });
    }
  }
};

}  // namespace

std::string dims_text(const std::vector<uint64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

WalkCounts walk_file(Reader& r, const std::function<void(const std::string&, const std::string&)>& out,
                     bool keep_going) {
  Walker w{r, out, keep_going, {}, {}};
  w.object("/", r.root(), 0);
  return w.counts;
}

}  // namespace rnnx::detail::h5
