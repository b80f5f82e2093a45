// Superblock, groups, attributes and datasets (see h5_object.h).
#include "io/hdf5/h5_object.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace rnnx::detail::h5 {

namespace {

bool has_message(const std::vector<Message>& ms, uint16_t type) {
  return std::any_of(ms.begin(), ms.end(), [&](const Message& m) { return m.type == type; });
}

const Message* first_message(const std::vector<Message>& ms, uint16_t type) {
  for (const Message& m : ms)
    if (m.type == type) return &m;
  return nullptr;
}

// Calls `body` with each record of a dense storage's name index (a v2 B-tree of
// `btree_type` whose records are `record_size` bytes) and the heap object it names (heap ID
// at `id_at`, `id_len` bytes). Nothing when the storage is not dense.
void for_each_dense(const Image& image, const DenseInfo& d, int btree_type, uint64_t record_size, uint64_t id_at,
                    uint64_t id_len, const char* what,
                    const std::function<void(std::span<const uint8_t> record, std::span<const uint8_t> object)>& body) {
  if (image.is_undefined(d.heap)) return;
  const FractalHeap heap(image, d.heap);
  walk_v2_btree(image, d.name_index, btree_type, [&](std::span<const uint8_t> rec, uint64_t at) {
    if (rec.size() != record_size)
      damaged(at_offset(what, at) + " has " + std::to_string(rec.size()) + " bytes, expected " +
              std::to_string(record_size));
    body(rec, heap.object(rec.subspan(id_at, id_len)));
  });
}

}  // namespace

std::optional<uint64_t> find_signature(std::span<const uint8_t> bytes) {
  static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  auto at = [&](uint64_t off) { return bytes.size() >= off + 8 && std::memcmp(bytes.data() + off, sig, 8) == 0; };
  if (at(0)) return 0;
  for (uint64_t off = 512; off + 8 <= bytes.size() && off <= (uint64_t{1} << 40); off *= 2)
    if (at(off)) return off;
  return std::nullopt;
}

Reader::Reader(std::span<const uint8_t> bytes, Limits limits) : limits_(limits), global_heap_(image_) {
  image_.bytes = bytes;
  const auto base = find_signature(bytes);
  if (!base) damaged("no HDF5 signature");
  image_.base = *base;
  Cursor c(bytes.subspan(static_cast<size_t>(image_.base)), image_, "superblock", 0);
  c.skip(8);  // signature
  const int version = c.u8();
  if (version > 3) c.fail("has version " + std::to_string(version) + " (rnnx reads versions 0 to 3)");
  auto sizes = [&](int o, int l) {
    if ((o != 2 && o != 4 && o != 8) || (l != 2 && l != 4 && l != 8))
      c.fail("has field sizes " + std::to_string(o) + "/" + std::to_string(l) +
             " (offsets/lengths of 2, 4 or 8 bytes)");
    image_.offset_size = o;
    image_.length_size = l;
  };
  uint64_t eof = 0;
  if (version <= 1) {
    c.skip(4);  // free space, root group entry versions, reserved, shared header version
    const int o = c.u8();
    const int l = c.u8();
    sizes(o, l);
    c.skip(1);
    c.skip(4);  // group leaf / internal node K
    c.skip(4);  // consistency flags
    if (version == 1) c.skip(4);
    c.address();  // base address: libhdf5 uses where the superblock was found
    c.address();  // free space info
    eof = c.address();
    c.address();  // driver information block
    c.address();  // root entry: link name offset
    root_ = c.address();
  } else {
    const int o = c.u8();
    const int l = c.u8();
    sizes(o, l);
    c.skip(1);    // consistency flags
    c.address();  // base address
    c.address();  // superblock extension
    eof = c.address();
    root_ = c.address();
    c.skip(4);  // checksum
  }
  // libhdf5 records the end of file counting the user block too.
  const uint64_t have = bytes.size();
  if (!image_.is_undefined(eof) && eof > have)
    damaged("the file is truncated (the superblock says it has " + std::to_string(eof) + " bytes, it has " +
            std::to_string(have) + ")");
  if (image_.is_undefined(root_)) damaged("the superblock has no root group");
}

ObjectKind Reader::kind(uint64_t addr) const {
  const auto ms = read_object_header(image_, addr);
  if (has_message(ms, kSymbolTable) || has_message(ms, kLinkInfo)) return ObjectKind::group;
  if (has_message(ms, kDatatype) && has_message(ms, kDataspace)) return ObjectKind::dataset;
  if (has_message(ms, kDatatype)) return ObjectKind::datatype;
  return ObjectKind::other;
}

const std::vector<Link>& Reader::links(uint64_t addr) {
  if (auto it = links_.find(addr); it != links_.end()) return it->second;
  const auto ms = read_object_header(image_, addr);
  std::vector<Link> out;
  auto charge = [&](const std::string& name) {
    if (name.size() + 16 > kMaxNameBytes - name_bytes_)
      damaged("the file's link names exceed " + std::to_string(kMaxNameBytes) + " bytes (repeated references?)");
    name_bytes_ += name.size() + 16;
  };
  if (const Message* st = first_message(ms, kSymbolTable)) {
    const SymbolTable s = decode_symbol_table(image_, *st);
    for (auto& e : read_symbol_table(image_, s.btree, s.heap, kMaxNameBytes - name_bytes_)) {
      charge(e.name);
      Link l;
      l.name = std::move(e.name);
      l.type = e.soft ? Link::soft : Link::hard;
      l.address = e.address;
      out.push_back(std::move(l));
    }
  } else {
    for (const Message& m : ms)
      if (m.type == kLink) {
        out.push_back(decode_link(image_, m));
        charge(out.back().name);
      }
    if (const Message* li = first_message(ms, kLinkInfo)) {
      const DenseInfo d = decode_dense_info(image_, *li);
      // Link name records: name hash (4), heap ID (7).
      for_each_dense(image_, d, 5, 11, 4, 7, "link name index record", [&](auto, std::span<const uint8_t> body) {
        out.push_back(decode_link(image_, Message{kLink, 0, body, d.heap}));
        charge(out.back().name);
      });
    }
  }
  std::sort(out.begin(), out.end(), [](const Link& a, const Link& b) { return a.name < b.name; });
  for (size_t i = 1; i < out.size(); ++i)
    if (out[i].name == out[i - 1].name) damaged("the group has two links named '" + out[i].name + "'");
  return links_.emplace(addr, std::move(out)).first->second;
}

const Link* Reader::find_link(uint64_t group, const std::string& name) {
  const auto& ls = links(group);
  const auto it =
      std::lower_bound(ls.begin(), ls.end(), name, [](const Link& l, const std::string& n) { return l.name < n; });
  return it != ls.end() && it->name == name ? &*it : nullptr;
}

std::vector<Attribute> Reader::attributes(uint64_t addr) const {
  const auto ms = read_object_header(image_, addr);
  std::vector<Attribute> out;
  for (const Message& m : ms) {
    if (m.type != kAttribute) continue;
    if (m.flags & 0x02) damaged(at_offset("attribute message", m.addr) + " is shared, which rnnx does not read");
    out.push_back(decode_attribute(image_, m.data, m.addr));
  }
  if (const Message* ai = first_message(ms, kAttributeInfo)) {
    const DenseInfo d = decode_dense_info(image_, *ai);
    // Attribute name records: heap ID (8), message flags (1), creation order (4), hash (4).
    for_each_dense(image_, d, 8, 17, 0, 8, "attribute name index record",
                   [&](std::span<const uint8_t> rec, std::span<const uint8_t> body) {
                     if (rec[8] & 0x01)
                       damaged(std::string("attribute name index of the fractal heap at offset ") +
                               std::to_string(d.heap) + " names a shared attribute, which rnnx does not read");
                     out.push_back(decode_attribute(image_, body, d.heap));
                   });
  }
  return out;
}

DatasetParts Reader::dataset(uint64_t addr) const {
  const auto ms = read_object_header(image_, addr);
  if (has_message(ms, kExternalFiles))
    damaged("it stores its values in external files (external file list), which rnnx refuses to read");
  const Message* type = first_message(ms, kDatatype);
  const Message* space = first_message(ms, kDataspace);
  const Message* layout = first_message(ms, kLayout);
  if (!type || !space || !layout) damaged("its header lacks a datatype, dataspace or layout message");
  DatasetParts d;
  d.type = decode_datatype(image_, *type);
  d.space = decode_dataspace(image_, *space);
  d.layout = decode_layout(image_, *layout, static_cast<int>(d.space.dims.size()));
  if (const Message* f = first_message(ms, kFilterPipeline)) d.filters = decode_filters(image_, *f);
  // The new fill value message wins over the old one, as in libhdf5.
  if (const Message* f = first_message(ms, kFillValue))
    d.fill = decode_fill_value(image_, *f);
  else if (const Message* f = first_message(ms, kFillValueOld))
    d.fill = decode_fill_value(image_, *f);
  return d;
}

std::vector<std::string> Reader::strings(const Datatype& t, std::span<const uint8_t> raw, uint64_t count) {
  return read_strings(image_, global_heap_, t, raw, count, limits_.max_attribute_bytes);
}

}  // namespace rnnx::detail::h5
