// B-trees, symbol table nodes and heaps (see h5_structures.h). Layouts follow the HDF5 File
// Format Specification 3.0, section III; checksums are not verified (every field is bounds-
// checked instead, which is what keeps a damaged file from hurting).
#include "io/hdf5/h5_structures.h"

#include <algorithm>
#include <set>

namespace rnnx::detail::h5 {

namespace {

// Version 1 B-tree walk: calls `leaf` with every child of the level-0 nodes and the key
// before it.
struct V1Walk {
  const Image& image;
  int node_type;
  uint64_t key_size;
  const std::function<void(uint64_t child, std::span<const uint8_t> key)>& leaf;
  std::set<uint64_t> seen;

  void node(uint64_t addr, int expect_level, int depth) {
    const std::string what = node_type == 0 ? "group B-tree node" : "chunk B-tree node";
    if (depth > kMaxTreeDepth)
      damaged(at_offset(what, addr) + " lies deeper than " + std::to_string(kMaxTreeDepth) + " levels");
    if (!seen.insert(addr).second) damaged(at_offset(what, addr) + " is reached twice (a cycle in the B-tree)");
    const uint64_t o = static_cast<uint64_t>(image.offset_size);
    const auto head = image.at(addr, 8 + 2 * o, what);
    Cursor c(head, image, what, addr);
    c.signature("TREE");
    const int type = c.u8();
    const int level = c.u8();
    const uint64_t entries = c.u16();
    if (type != node_type) c.fail("has node type " + std::to_string(type) + ", expected " + std::to_string(node_type));
    if (expect_level >= 0 && level != expect_level)
      c.fail("has level " + std::to_string(level) + ", expected " + std::to_string(expect_level));
    const uint64_t body = checked_add(checked_mul(entries, key_size + o, what), key_size, what);
    const auto all = image.at(addr, checked_add(8 + 2 * o, body, what), what);
    Cursor b(all, image, what, addr);
    b.skip(8 + 2 * o);
    for (uint64_t i = 0; i < entries; ++i) {
      const auto key = b.bytes(key_size);
      const uint64_t child = b.address();
      if (level > 0)
        node(child, level - 1, depth + 1);
      else
        leaf(child, key);
    }
  }
};

void walk_v1_btree(const Image& image, uint64_t addr, int node_type, uint64_t key_size,
                   const std::function<void(uint64_t child, std::span<const uint8_t> key)>& leaf) {
  V1Walk w{image, node_type, key_size, leaf, {}};
  w.node(addr, -1, 0);
}

}  // namespace

std::vector<SymbolEntry> read_symbol_table(const Image& image, uint64_t btree, uint64_t heap, uint64_t max_name_bytes) {
  // The local heap holding the names.
  const uint64_t o = static_cast<uint64_t>(image.offset_size);
  const uint64_t l = static_cast<uint64_t>(image.length_size);
  Cursor h(image.at(heap, 8 + 2 * l + o, "local heap"), image, "local heap", heap);
  h.signature("HEAP");
  const int version = h.u8();
  if (version != 0) h.fail("has version " + std::to_string(version));
  h.skip(3);
  const uint64_t seg_size = h.length();
  h.length();  // free list head
  const uint64_t seg_addr = h.address();
  const auto segment = image.at(seg_addr, seg_size, "local heap data segment");
  auto name_at = [&](uint64_t off) {
    if (off >= segment.size())
      damaged(at_offset("local heap", heap) + ": name offset " + std::to_string(off) + " lies outside its " +
              std::to_string(segment.size()) + "-byte data segment");
    std::string name;
    for (uint64_t i = off; i < segment.size(); ++i) {
      if (segment[i] == 0) return name;
      name.push_back(static_cast<char>(segment[i]));
    }
    damaged(at_offset("local heap", heap) + ": the name at offset " + std::to_string(off) + " is not terminated");
  };

  std::vector<SymbolEntry> out;
  uint64_t name_bytes = 0;
  std::set<uint64_t> nodes;
  walk_v1_btree(image, btree, 0, l, [&](uint64_t snod, std::span<const uint8_t>) {
    if (!nodes.insert(snod).second)
      damaged(at_offset("symbol table node", snod) + " is listed twice in the group B-tree");
    const uint64_t entry_size = 2 * o + 24;
    Cursor c(image.at(snod, 8, "symbol table node"), image, "symbol table node", snod);
    c.signature("SNOD");
    const int v = c.u8();
    if (v != 1) c.fail("has version " + std::to_string(v));
    c.skip(1);
    const uint64_t n = c.u16();
    const auto body = image.at(snod, 8 + n * entry_size, "symbol table node");
    Cursor e(body, image, "symbol table node", snod);
    e.skip(8);
    for (uint64_t i = 0; i < n; ++i) {
      SymbolEntry s;
      const uint64_t name_off = e.address();
      s.address = e.address();
      const uint32_t cache = e.u32();
      e.skip(4 + 16);
      s.soft = cache == 2;
      s.name = name_at(name_off);
      name_bytes += s.name.size();
      if (name_bytes > max_name_bytes)
        damaged(at_offset("local heap", heap) + ": the group's names exceed " + std::to_string(max_name_bytes) +
                " bytes");
      out.push_back(std::move(s));
    }
  });
  return out;
}

std::vector<ChunkRef> read_v1_chunk_btree(const Image& image, uint64_t addr, int rank) {
  std::vector<ChunkRef> out;
  const uint64_t key_size = 8 + 8 * static_cast<uint64_t>(rank + 1);
  walk_v1_btree(image, addr, 1, key_size, [&](uint64_t child, std::span<const uint8_t> key) {
    Cursor k(key, image, "chunk B-tree key", 0);
    ChunkRef c;
    c.size = k.u32();
    c.filter_mask = k.u32();
    for (int i = 0; i < rank; ++i) c.offset.push_back(k.u64());
    c.address = child;
    out.push_back(std::move(c));
  });
  return out;
}

namespace {

struct V2Walk {
  const Image& image;
  int type;
  uint64_t node_size = 0;
  uint64_t record_size = 0;
  int max_nrec_size = 0;
  std::vector<uint64_t> max_nrec;  // per depth
  std::vector<int> cum_size;       // per depth: bytes of "total records below"
  const std::function<void(std::span<const uint8_t>, uint64_t)>& record;
  std::set<uint64_t> seen;

  void node(uint64_t addr, uint64_t nrec, int depth) {
    const std::string what = depth == 0 ? "version 2 B-tree leaf node" : "version 2 B-tree internal node";
    if (!seen.insert(addr).second) damaged(at_offset(what, addr) + " is reached twice (a cycle in the B-tree)");
    if (nrec > max_nrec[static_cast<size_t>(depth)])
      damaged(at_offset(what, addr) + " holds " + std::to_string(nrec) + " records, at most " +
              std::to_string(max_nrec[static_cast<size_t>(depth)]) + " fit");
    Cursor c(image.at(addr, node_size, what), image, what, addr);
    c.signature(depth == 0 ? "BTLF" : "BTIN");
    const int version = c.u8();
    if (version != 0) c.fail("has version " + std::to_string(version));
    const int t = c.u8();
    if (t != type) c.fail("has type " + std::to_string(t) + ", expected " + std::to_string(type));
    for (uint64_t i = 0; i < nrec; ++i) {
      const uint64_t at = addr + c.pos();
      record(c.bytes(record_size), at);
    }
    if (depth == 0) return;
    for (uint64_t i = 0; i <= nrec; ++i) {
      const uint64_t child = c.address();
      const uint64_t child_nrec = c.uint(max_nrec_size);
      if (depth > 1) c.skip(static_cast<uint64_t>(cum_size[static_cast<size_t>(depth - 1)]));
      node(child, child_nrec, depth - 1);
    }
  }
};

}  // namespace

void walk_v2_btree(const Image& image, uint64_t addr, int type,
                   const std::function<void(std::span<const uint8_t>, uint64_t)>& record) {
  const uint64_t o = static_cast<uint64_t>(image.offset_size);
  const uint64_t l = static_cast<uint64_t>(image.length_size);
  Cursor c(image.at(addr, 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + o + 2 + l + 4, "version 2 B-tree header"), image,
           "version 2 B-tree header", addr);
  c.signature("BTHD");
  const int version = c.u8();
  if (version != 0) c.fail("has version " + std::to_string(version));
  V2Walk w{image, type, 0, 0, 0, {}, {}, record, {}};
  const int t = c.u8();
  if (t != type) c.fail("has type " + std::to_string(t) + ", expected " + std::to_string(type));
  w.node_size = c.u32();
  w.record_size = c.u16();
  const int depth = c.u16();
  c.skip(2);  // split and merge percentages
  const uint64_t root = c.address();
  const uint64_t root_nrec = c.u16();
  c.length();  // total records
  if (w.record_size == 0) c.fail("has records of 0 bytes");
  if (depth > kMaxTreeDepth) c.fail("has depth " + std::to_string(depth));
  // Metadata prefix of a node: signature, version, type, checksum (libhdf5 H5B2__hdr_init).
  constexpr uint64_t kPrefix = 10;
  if (w.node_size <= kPrefix || (w.node_size - kPrefix) / w.record_size == 0)
    c.fail("has nodes of " + std::to_string(w.node_size) + " bytes, too small for one record of " +
           std::to_string(w.record_size));
  w.max_nrec.push_back((w.node_size - kPrefix) / w.record_size);
  w.cum_size.push_back(0);
  w.max_nrec_size = limit_enc_size(w.max_nrec[0]);
  uint64_t cum_max = w.max_nrec[0];
  for (int d = 1; d <= depth; ++d) {
    const uint64_t ptr = o + static_cast<uint64_t>(w.max_nrec_size) + static_cast<uint64_t>(w.cum_size.back());
    const uint64_t n = w.node_size > kPrefix + ptr ? (w.node_size - (kPrefix + ptr)) / (w.record_size + ptr) : 0;
    if (n == 0) c.fail("has internal nodes too small for one record at depth " + std::to_string(d));
    w.max_nrec.push_back(n);
    // cum_max = (n + 1) * cum_max + n, saturating: only its encoded size matters.
    const uint64_t big = ~uint64_t{0};
    cum_max = cum_max > (big - n) / (n + 1) ? big : (n + 1) * cum_max + n;
    w.cum_size.push_back(limit_enc_size(cum_max));
  }
  if (image.is_undefined(root) || root_nrec == 0) return;
  w.node(root, root_nrec, depth);
}

// ---------------------------------------------------------------------------------------
// Fractal heap

FractalHeap::FractalHeap(const Image& image, uint64_t addr) : image_(&image), addr_(addr) {
  const uint64_t o = static_cast<uint64_t>(image.offset_size);
  const uint64_t l = static_cast<uint64_t>(image.length_size);
  const uint64_t fixed = 4 + 1 + 2 + 2 + 1 + 4 + 12 * l + 3 * o + 2 + 2 + 2 + 2 + 4;
  Cursor c(image.from(addr, fixed, "fractal heap header"), image, "fractal heap header", addr);
  c.signature("FRHP");
  const int version = c.u8();
  if (version != 0) c.fail("has version " + std::to_string(version));
  id_len_ = c.u16();
  filter_len_ = c.u16();
  const uint8_t flags = c.u8();
  checksummed_ = flags & 0x02;
  max_managed_ = c.u32();
  c.length();  // next huge object ID
  huge_btree_ = c.address();
  c.length();   // free space in managed blocks
  c.address();  // free space manager
  c.length();   // managed space
  c.length();   // allocated managed space
  c.length();   // direct block allocation iterator
  c.length();   // managed objects
  c.length();   // size of huge objects
  c.length();   // huge objects
  c.length();   // size of tiny objects
  c.length();   // tiny objects
  width_ = c.u16();
  start_block_ = c.length();
  max_direct_ = c.length();
  max_heap_bits_ = c.u16();
  c.u16();  // starting rows of the root indirect block
  root_ = c.address();
  root_rows_ = c.u16();
  auto pow2 = [](uint64_t v) { return v != 0 && (v & (v - 1)) == 0; };
  if (id_len_ < 2) c.fail("has heap IDs of " + std::to_string(id_len_) + " bytes");
  if (filter_len_ > 0) c.fail("is filtered (compressed), which rnnx does not read");
  if (!pow2(width_) || !pow2(start_block_) || !pow2(max_direct_) || max_direct_ < start_block_)
    c.fail("has an invalid doubling table (width " + std::to_string(width_) + ", blocks of " +
           std::to_string(start_block_) + " to " + std::to_string(max_direct_) + " bytes)");
  if (max_heap_bits_ < 1 || max_heap_bits_ > 64 || log2_floor(max_direct_) >= max_heap_bits_ + 1)
    c.fail("has a maximum heap size of " + std::to_string(max_heap_bits_) + " bits");
  off_size_ = (max_heap_bits_ + 7) / 8;
  len_size_ = std::min((log2_floor(max_direct_) + 7) / 8, limit_enc_size(max_managed_));
  max_direct_rows_ = log2_floor(max_direct_) - log2_floor(start_block_) + 2;
  if (root_rows_ > max_heap_bits_ + 1) c.fail("has a root indirect block of " + std::to_string(root_rows_) + " rows");
}

uint64_t FractalHeap::row_size(int row) const {
  if (row == 0) return start_block_;
  const int shift = row - 1;
  if (shift + log2_floor(start_block_) >= 63)
    damaged(at_offset("fractal heap", addr_) + " has a block row " + std::to_string(row) + " beyond 2^63 bytes");
  return start_block_ << shift;
}

int FractalHeap::child_rows(int row) const {
  return log2_floor(row_size(row)) - (log2_floor(start_block_) + log2_floor(width_)) + 1;
}

std::span<const uint8_t> FractalHeap::managed(uint64_t offset, uint64_t length) const {
  const Image& image = *image_;
  const uint64_t o = static_cast<uint64_t>(image.offset_size);
  const uint64_t block_header = 4 + 1 + o + static_cast<uint64_t>(off_size_) + (checksummed_ ? 4 : 0);
  auto direct = [&](uint64_t addr, uint64_t base, uint64_t size) {
    const auto block = image.at(addr, size, "fractal heap direct block");
    Cursor c(block, image, "fractal heap direct block", addr);
    c.signature("FHDB");
    const uint64_t rel = offset - base;
    if (rel < block_header || rel > size || length > size - rel)
      c.fail("does not hold heap object " + std::to_string(offset) + " (" + std::to_string(length) +
             " bytes; block covers heap offsets " + std::to_string(base) + " to " + std::to_string(base + size) + ")");
    return block.subspan(static_cast<size_t>(rel), static_cast<size_t>(length));
  };
  if (root_rows_ == 0) return direct(root_, 0, start_block_);
  uint64_t addr = root_;
  uint64_t base = 0;
  int rows = root_rows_;
  std::set<uint64_t> seen;
  for (int depth = 0;; ++depth) {
    const std::string what = "fractal heap indirect block";
    if (depth > kMaxTreeDepth || !seen.insert(addr).second)
      damaged(at_offset(what, addr) + " is reached twice or too deep (a cycle in the heap)");
    if (rows <= 0 || rows > max_heap_bits_ + 1)
      damaged(at_offset(what, addr) + " has " + std::to_string(rows) + " rows");
    const uint64_t head = 4 + 1 + o + static_cast<uint64_t>(off_size_);
    const uint64_t entries = static_cast<uint64_t>(rows) * width_;
    const auto block = image.at(addr, head + entries * o + 4, what);
    Cursor c(block, image, what, addr);
    c.signature("FHIB");
    if (offset < base) c.fail("does not cover heap offset " + std::to_string(offset));
    const uint64_t rel = offset - base;
    uint64_t acc = 0;
    int row = -1;
    uint64_t col = 0;
    for (int r = 0; r < rows; ++r) {
      const uint64_t span = checked_mul(width_, row_size(r), "fractal heap row size");
      if (rel - acc < span) {
        row = r;
        col = (rel - acc) / row_size(r);
        break;
      }
      acc = checked_add(acc, span, "fractal heap offset");
    }
    if (row < 0) c.fail("does not cover heap offset " + std::to_string(offset));
    c.seek(head + (static_cast<uint64_t>(row) * width_ + col) * o);
    const uint64_t child = c.address();
    if (image.is_undefined(child)) c.fail("has no block for heap offset " + std::to_string(offset));
    const uint64_t child_base = base + acc + col * row_size(row);
    if (row < max_direct_rows_) return direct(child, child_base, row_size(row));
    addr = child;
    base = child_base;
    rows = child_rows(row);
  }
}

std::span<const uint8_t> FractalHeap::huge(std::span<const uint8_t> id) const {
  const Image& image = *image_;
  Cursor c(id, image, "fractal heap ID", addr_);
  c.skip(1);
  const int o = image.offset_size;
  const int l = image.length_size;
  if (o + l <= id_len_ - 1) {
    const uint64_t addr = c.address();
    const uint64_t len = c.length();
    return image.at(addr, len, "huge fractal heap object");
  }
  const int id_size = std::min(id_len_ - 1, 8);
  const uint64_t key = c.uint(id_size);
  std::span<const uint8_t> found;
  bool have = false;
  walk_v2_btree(image, huge_btree_, 1, [&](std::span<const uint8_t> rec, uint64_t at) {
    Cursor r(rec, image, "huge object record", at);
    const uint64_t addr = r.address();
    const uint64_t len = r.length();
    const uint64_t rid = r.length();
    if (rid == key && !have) {
      found = image.at(addr, len, "huge fractal heap object");
      have = true;
    }
  });
  if (!have) damaged(at_offset("fractal heap", addr_) + " has no huge object " + std::to_string(key));
  return found;
}

std::span<const uint8_t> FractalHeap::object(std::span<const uint8_t> id) const {
  if (id.size() < id_len_ || id.empty())
    damaged(at_offset("fractal heap", addr_) + ": a heap ID of " + std::to_string(id.size()) + " bytes is too short");
  id = id.first(id_len_);
  const uint8_t first = id[0];
  if ((first >> 6) != 0)
    damaged(at_offset("fractal heap", addr_) + ": a heap ID has version " + std::to_string(first >> 6));
  const int type = (first >> 4) & 0x03;
  if (type == 0) {
    Cursor c(id, *image_, "fractal heap ID", addr_);
    c.skip(1);
    const uint64_t offset = c.uint(off_size_);
    const uint64_t length = c.uint(len_size_);
    return managed(offset, length);
  }
  if (type == 1) return huge(id);
  if (type == 2) {
    // Tiny objects live in the ID; IDs longer than 18 bytes use a 12-bit length.
    const bool extended = id_len_ - 1 > 16;
    const uint64_t header = extended ? 2 : 1;
    const uint64_t len = (extended ? ((uint64_t{first} & 0x0f) << 8 | id[1]) : (first & 0x0f)) + 1;
    if (header + len > id.size())
      damaged(at_offset("fractal heap", addr_) + ": a tiny object of " + std::to_string(len) +
              " bytes does not fit its heap ID");
    return id.subspan(header, static_cast<size_t>(len));
  }
  damaged(at_offset("fractal heap", addr_) + ": a heap ID has unknown type 3");
}

// ---------------------------------------------------------------------------------------
// Global heap

std::span<const uint8_t> GlobalHeap::object(uint64_t addr, uint32_t index) {
  auto it = collections_.find(addr);
  if (it == collections_.end()) {
    const Image& image = *image_;
    const uint64_t l = static_cast<uint64_t>(image.length_size);
    Cursor h(image.at(addr, 8 + l, "global heap collection"), image, "global heap collection", addr);
    h.signature("GCOL");
    const int version = h.u8();
    if (version != 1) h.fail("has version " + std::to_string(version));
    h.skip(3);
    const uint64_t size = h.length();
    if (size < 8 + l) h.fail("declares " + std::to_string(size) + " bytes, less than its own header");
    Cursor c(image.at(addr, size, "global heap collection"), image, "global heap collection", addr);
    c.skip(8 + l);
    std::map<uint32_t, std::span<const uint8_t>> objects;
    while (c.remaining() >= 8 + l) {
      const uint32_t idx = c.u16();
      c.skip(2 + 4);  // reference count, reserved
      const uint64_t osize = c.length();
      if (idx == 0) break;  // free space: the rest of the collection
      if (osize > c.remaining())
        c.fail("holds object " + std::to_string(idx) + " of " + std::to_string(osize) + " bytes, only " +
               std::to_string(c.remaining()) + " are left");
      objects.emplace(idx, c.bytes(osize));
      const uint64_t pad = (8 - osize % 8) % 8;
      if (pad > c.remaining()) break;
      c.skip(pad);
    }
    it = collections_.emplace(addr, std::move(objects)).first;
  }
  const auto obj = it->second.find(index);
  if (obj == it->second.end())
    damaged(at_offset("global heap collection", addr) + " has no object " + std::to_string(index));
  return obj->second;
}

}  // namespace rnnx::detail::h5
