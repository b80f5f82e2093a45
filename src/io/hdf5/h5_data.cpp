// Dataset storage, filters and value conversion (see h5_data.h).
#include "io/hdf5/h5_data.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

namespace rnnx::detail::h5 {

namespace {

std::string filter_name(uint16_t id) {
  switch (id) {
    case 1:
      return "deflate";
    case 2:
      return "shuffle";
    case 3:
      return "fletcher32";
    case 4:
      return "szip";
    case 5:
      return "nbit";
    case 6:
      return "scaleoffset";
    case 32000:
      return "lzf";
    case 32001:
      return "blosc";
    case 32004:
      return "lz4";
    case 32015:
      return "zstd";
    default:
      return "id " + std::to_string(id);
  }
}

// zlib-wrapped deflate data inflated to at most `max_out` bytes.
std::vector<uint8_t> inflate_chunk(std::span<const uint8_t> in, uint64_t max_out, uint64_t addr) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) damaged("zlib inflateInit failed");
  std::vector<uint8_t> out;
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(std::min<uint64_t>(in.size(), 1u << 30));
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    if (out.size() >= max_out + 1) break;
    const size_t old = out.size();
    const size_t grow = static_cast<size_t>(std::min<uint64_t>(std::max<uint64_t>(old, 1 << 16), max_out + 1 - old));
    out.resize(old + grow);
    zs.next_out = out.data() + old;
    zs.avail_out = static_cast<uInt>(grow);
    ret = inflate(&zs, Z_NO_FLUSH);
    out.resize(old + grow - zs.avail_out);
    if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR || ret == Z_MEM_ERROR || (ret == Z_BUF_ERROR && zs.avail_in == 0)) {
      const std::string msg = zs.msg ? zs.msg : "truncated or corrupt stream";
      inflateEnd(&zs);
      damaged(at_offset("deflate-compressed chunk", addr) + " cannot be inflated (" + msg + ")");
    }
  }
  inflateEnd(&zs);
  if (ret != Z_STREAM_END || out.size() > max_out)
    damaged(at_offset("deflate-compressed chunk", addr) + " inflates to more than the chunk's " +
            std::to_string(max_out) + " bytes");
  return out;
}

std::vector<uint8_t> unshuffle(const std::vector<uint8_t>& in, uint64_t es) {
  if (es <= 1) return in;
  const uint64_t n = in.size() / es;
  std::vector<uint8_t> out(in.size());
  for (uint64_t j = 0; j < es; ++j)
    for (uint64_t i = 0; i < n; ++i) out[i * es + j] = in[j * n + i];
  std::copy(in.begin() + static_cast<std::ptrdiff_t>(n * es), in.end(),
            out.begin() + static_cast<std::ptrdiff_t>(n * es));
  return out;
}

// The stored bytes of one chunk undone through the filter pipeline (last filter first).
std::vector<uint8_t> unfilter(std::span<const uint8_t> stored, const std::vector<Filter>& filters, uint32_t mask,
                              uint64_t chunk_bytes, uint64_t elem, uint64_t addr) {
  std::vector<uint8_t> data(stored.begin(), stored.end());
  for (size_t k = filters.size(); k-- > 0;) {
    if (k < 32 && (mask >> k) & 1) continue;
    const Filter& f = filters[k];
    switch (f.id) {
      case 1:
        data = inflate_chunk(data, chunk_bytes + 4 * filters.size(), addr);
        break;
      case 2:
        data = unshuffle(data, f.values.empty() ? elem : f.values[0]);
        break;
      case 3:
        if (data.size() < 4) damaged(at_offset("chunk", addr) + " is too short for its fletcher32 checksum");
        data.resize(data.size() - 4);
        break;
      default:
        damaged(at_offset("chunk", addr) + " needs the " + filter_name(f.id) +
                (f.name.empty() ? "" : " ('" + f.name + "')") +
                " filter, which rnnx does not read (deflate, shuffle and fletcher32 only)");
    }
  }
  return data;
}

// Chunks per dimension over the maximum dimensions (how libhdf5 numbers chunks for the
// implicit and fixed array indexes).
std::vector<uint64_t> chunk_grid(const Dataspace& s, const Layout& l, bool max_dims) {
  std::vector<uint64_t> grid;
  for (size_t i = 0; i < l.chunk.size(); ++i) {
    const uint64_t d = max_dims ? s.max_dims[i] : s.dims[i];
    if (max_dims && d == ~uint64_t{0})
      damaged("a chunk index for fixed-size datasets is used by a dataset with an unlimited dimension");
    grid.push_back(d / l.chunk[i] + (d % l.chunk[i] ? 1 : 0));
  }
  return grid;
}

std::vector<uint64_t> element_offset(uint64_t linear, const std::vector<uint64_t>& grid, const Layout& l) {
  std::vector<uint64_t> off(grid.size());
  for (size_t i = grid.size(); i-- > 0;) {
    off[i] = (linear % grid[i]) * l.chunk[i];
    linear /= grid[i];
  }
  return off;
}

uint64_t grid_count(const std::vector<uint64_t>& grid) {
  uint64_t n = 1;
  for (uint64_t g : grid) n = checked_mul(n, g, "the dataset's chunk count");
  return n;
}

std::vector<ChunkRef> fixed_array_chunks(const Image& image, const DatasetParts& d, uint64_t chunk_bytes) {
  const uint64_t o = static_cast<uint64_t>(image.offset_size);
  const uint64_t l = static_cast<uint64_t>(image.length_size);
  Cursor h(image.at(d.layout.address, 4 + 4 + l + o + 4, "fixed array header"), image, "fixed array header",
           d.layout.address);
  h.signature("FAHD");
  if (const int v = h.u8(); v != 0) h.fail("has version " + std::to_string(v));
  const int client = h.u8();
  const uint64_t entry = h.u8();
  const int page_bits = h.u8();
  const uint64_t n = h.length();
  const uint64_t block = h.address();
  if (client > 1) h.fail("has client type " + std::to_string(client));
  if (client == 0 && entry != o) h.fail("has entries of " + std::to_string(entry) + " bytes");
  if (client == 1 && (entry <= o + 4 || entry > o + 12)) h.fail("has entries of " + std::to_string(entry) + " bytes");
  if (page_bits == 0 || page_bits > 32) h.fail("has " + std::to_string(page_bits) + " page bits");
  const auto grid = chunk_grid(d.space, d.layout, true);
  if (n != grid_count(grid))
    h.fail("holds " + std::to_string(n) + " chunks, the dataset has " + std::to_string(grid_count(grid)));
  const uint64_t per_page = uint64_t{1} << page_bits;
  const uint64_t pages = n > per_page ? (n + per_page - 1) / per_page : 0;
  const uint64_t prefix = 4 + 2 + o + (pages ? (pages + 7) / 8 : 0) + 4;
  std::vector<ChunkRef> out;
  auto read_entries = [&](Cursor& c, uint64_t first, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
      ChunkRef r;
      r.address = c.address();
      r.size = chunk_bytes;
      if (client == 1) {
        r.size = c.uint(static_cast<int>(entry - o - 4));
        r.filter_mask = c.u32();
      }
      if (image.is_undefined(r.address)) continue;
      r.offset = element_offset(first + i, grid, d.layout);
      out.push_back(std::move(r));
    }
  };
  if (pages == 0) {
    const uint64_t bytes = checked_add(prefix, checked_mul(n, entry, "fixed array size"), "fixed array size");
    Cursor c(image.at(block, bytes, "fixed array data block"), image, "fixed array data block", block);
    c.signature("FADB");
    c.skip(2 + o);
    read_entries(c, 0, n);
    return out;
  }
  Cursor c(image.at(block, prefix, "fixed array data block"), image, "fixed array data block", block);
  c.signature("FADB");
  c.skip(2 + o);
  const auto bitmap = c.bytes((pages + 7) / 8);
  uint64_t page_addr = block + prefix;
  for (uint64_t p = 0; p < pages; ++p) {
    const uint64_t count = std::min(per_page, n - p * per_page);
    const uint64_t bytes = count * entry + 4;
    if (bitmap[p / 8] & (0x80 >> (p % 8))) {
      Cursor pc(image.at(page_addr, bytes, "fixed array page"), image, "fixed array page", page_addr);
      read_entries(pc, p * per_page, count);
    }
    page_addr = checked_add(page_addr, bytes, "fixed array page address");
  }
  return out;
}

std::vector<ChunkRef> chunk_list(const Image& image, const DatasetParts& d, uint64_t chunk_bytes) {
  const Layout& l = d.layout;
  const int rank = static_cast<int>(l.chunk.size());
  const bool filtered = !d.filters.empty();
  if (image.is_undefined(l.address)) return {};
  switch (l.index_type) {
    case 0:
      return read_v1_chunk_btree(image, l.address, rank);
    case 1: {
      ChunkRef r;
      r.offset.assign(static_cast<size_t>(rank), 0);
      r.address = l.address;
      r.size = l.single_filtered ? l.single_filtered_size : chunk_bytes;
      r.filter_mask = l.single_filter_mask;
      return {r};
    }
    case 2: {
      const auto grid = chunk_grid(d.space, l, true);
      const uint64_t n = grid_count(grid);
      (void)image.at(l.address, checked_mul(n, chunk_bytes, "implicit chunk storage"), "implicit chunk storage");
      std::vector<ChunkRef> out;
      for (uint64_t i = 0; i < n; ++i)
        out.push_back({element_offset(i, grid, l), l.address + i * chunk_bytes, chunk_bytes, 0});
      return out;
    }
    case 3:
      return fixed_array_chunks(image, d, chunk_bytes);
    case 5: {
      std::vector<ChunkRef> out;
      const uint64_t o = static_cast<uint64_t>(image.offset_size);
      walk_v2_btree(image, l.address, filtered ? 11 : 10, [&](std::span<const uint8_t> rec, uint64_t at) {
        Cursor c(rec, image, "chunk record", at);
        ChunkRef r;
        r.address = c.address();
        r.size = chunk_bytes;
        if (filtered) {
          const uint64_t fixed = o + 4 + 8 * static_cast<uint64_t>(rank);
          if (rec.size() <= fixed || rec.size() > fixed + 8) c.fail("has " + std::to_string(rec.size()) + " bytes");
          r.size = c.uint(static_cast<int>(rec.size() - fixed));
          r.filter_mask = c.u32();
        }
        for (int i = 0; i < rank; ++i)
          r.offset.push_back(checked_mul(c.u64(), l.chunk[static_cast<size_t>(i)], "chunk offset"));
        out.push_back(std::move(r));
      });
      return out;
    }
    case 4:
      damaged("its chunks are indexed by an extensible array (a resizable dataset), which rnnx does not read");
    default:
      damaged("it has an unknown chunk index type " + std::to_string(l.index_type));
  }
}

// Copies the part of a decoded chunk at `off` that lies inside the dataset.
void place_chunk(std::vector<uint8_t>& out, const std::vector<uint64_t>& dims, const std::vector<uint64_t>& chunk,
                 const std::vector<uint64_t>& off, const uint8_t* src, uint64_t elem) {
  const size_t rank = dims.size();
  if (rank == 0) {
    std::memcpy(out.data(), src, static_cast<size_t>(elem));
    return;
  }
  std::vector<uint64_t> extent(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (off[i] >= dims[i]) return;
    extent[i] = std::min(chunk[i], dims[i] - off[i]);
  }
  std::vector<uint64_t> idx(rank, 0);  // position inside the chunk (last dimension stays 0)
  const uint64_t run = extent[rank - 1] * elem;
  while (true) {
    uint64_t dst = 0, srco = 0;
    for (size_t i = 0; i < rank; ++i) {
      dst = dst * dims[i] + off[i] + idx[i];
      srco = srco * chunk[i] + idx[i];
    }
    std::memcpy(out.data() + dst * elem, src + srco * elem, static_cast<size_t>(run));
    size_t i = rank - 1;
    while (i-- > 0) {
      if (++idx[i] < extent[i]) break;
      idx[i] = 0;
    }
    if (i == static_cast<size_t>(-1)) return;
  }
}

}  // namespace

std::vector<uint8_t> read_dataset_bytes(const Image& image, const DatasetParts& d, const Limits& limits) {
  const uint64_t elem = d.type.size;
  if (elem == 0) damaged("its datatype has 0-byte elements");
  const uint64_t count = d.space.count();
  const uint64_t total = checked_mul(count, elem, "the dataset's size");
  if (total > limits.max_dataset_bytes)
    damaged("it declares " + std::to_string(total) + " bytes of values, more than the limit of " +
            std::to_string(limits.max_dataset_bytes));
  auto filled = [&]() {
    std::vector<uint8_t> out(static_cast<size_t>(total), 0);
    if (d.fill && d.fill->size() == elem)
      for (uint64_t i = 0; i < count; ++i)
        std::memcpy(out.data() + i * elem, d.fill->data(), static_cast<size_t>(elem));
    return out;
  };
  const Layout& l = d.layout;
  if (l.cls == Layout::compact) {
    if (l.compact_data.size() < total)
      damaged("its compact data holds " + std::to_string(l.compact_data.size()) + " bytes, " + std::to_string(total) +
              " are declared");
    return std::vector<uint8_t>(l.compact_data.begin(), l.compact_data.begin() + static_cast<std::ptrdiff_t>(total));
  }
  if (l.cls == Layout::contiguous) {
    if (image.is_undefined(l.address)) return filled();
    const uint64_t size = image.is_undefined(l.size) ? total : l.size;
    if (size < total)
      damaged("its contiguous storage holds " + std::to_string(size) + " bytes, " + std::to_string(total) +
              " are declared");
    const auto bytes = image.at(l.address, total, "contiguous dataset storage");
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  }
  if (!d.filters.empty() && l.cls != Layout::chunked) damaged("it has filters without chunked storage");
  // Chunked.
  if (l.chunk.size() != d.space.dims.size())
    damaged("its chunks have rank " + std::to_string(l.chunk.size()) + ", the dataset rank " +
            std::to_string(d.space.dims.size()));
  uint64_t chunk_elems = 1;
  for (uint64_t c : l.chunk) {
    if (c == 0) damaged("it has a chunk dimension of 0");
    chunk_elems = checked_mul(chunk_elems, c, "the chunk size");
  }
  const uint64_t chunk_bytes = checked_mul(chunk_elems, elem, "the chunk size");
  if (chunk_bytes > limits.max_dataset_bytes)
    damaged("its chunks of " + std::to_string(chunk_bytes) + " bytes exceed the limit of " +
            std::to_string(limits.max_dataset_bytes));
  if (count == 0) return {};
  const std::vector<ChunkRef> all = chunk_list(image, d, chunk_bytes);
  // The chunks that hold values of the dataset, one per position (a damaged index may list
  // a chunk twice or outside the dataset; decoding those would only cost time).
  std::vector<const ChunkRef*> chunks;
  std::set<std::vector<uint64_t>> positions;
  uint64_t stored = 0, decoded = 0;
  for (const auto& c : all) {
    if (c.offset.size() != l.chunk.size()) damaged("a chunk has the wrong number of offsets");
    bool inside = true;
    for (size_t i = 0; i < l.chunk.size(); ++i) {
      if (c.offset[i] % l.chunk[i])
        damaged(at_offset("chunk", c.address) + " starts at element " + std::to_string(c.offset[i]) +
                ", not on a chunk boundary");
      inside = inside && c.offset[i] < d.space.dims[i];
    }
    if (!inside) continue;
    if (!positions.insert(c.offset).second)
      damaged(at_offset("chunk", c.address) + " is the second chunk indexed at the same position");
    chunks.push_back(&c);
    stored = checked_add(stored, c.size, "the stored chunk sizes");
    decoded = checked_add(decoded, chunk_bytes, "the decoded chunk sizes");
  }
  const uint64_t work = std::max(total, decoded);
  if (work > limits.max_dataset_bytes)
    damaged("its chunks decode to " + std::to_string(work) + " bytes, more than the limit of " +
            std::to_string(limits.max_dataset_bytes));
  if (work > limits.bomb_floor && work / limits.max_expansion > stored)
    damaged("it declares " + std::to_string(work) + " bytes of values, but its chunks store only " +
            std::to_string(stored) + " (more than " + std::to_string(limits.max_expansion) +
            " times as much: refusing a decompression bomb)");
  std::vector<uint8_t> out = filled();
  for (const ChunkRef* cp : chunks) {
    const ChunkRef& c = *cp;
    const auto stored_bytes = image.at(c.address, c.size, "chunk");
    if (d.filters.empty()) {
      if (c.size < chunk_bytes)
        damaged(at_offset("chunk", c.address) + " holds " + std::to_string(c.size) + " bytes, a chunk has " +
                std::to_string(chunk_bytes));
      place_chunk(out, d.space.dims, l.chunk, c.offset, stored_bytes.data(), elem);
      continue;
    }
    const auto data = unfilter(stored_bytes, d.filters, c.filter_mask, chunk_bytes, elem, c.address);
    if (data.size() != chunk_bytes)
      damaged(at_offset("chunk", c.address) + " decodes to " + std::to_string(data.size()) + " bytes, a chunk has " +
              std::to_string(chunk_bytes));
    place_chunk(out, d.space.dims, l.chunk, c.offset, data.data(), elem);
  }
  return out;
}

void check_float_layout(const Datatype& t) {
  struct Std {
    uint64_t size;
    int sign, exp_loc, exp_size, mant_size;
    uint32_t bias;
  };
  static const Std kStd[] = {{2, 15, 10, 5, 10, 15}, {4, 31, 23, 8, 23, 127}, {8, 63, 52, 11, 52, 1023}};
  for (const Std& s : kStd)
    if (t.size == s.size && t.sign_loc == s.sign && t.exp_loc == s.exp_loc && t.exp_size == s.exp_size &&
        t.mant_loc == 0 && t.mant_size == s.mant_size && t.exp_bias == s.bias && t.bit_offset == 0 &&
        t.precision == static_cast<int>(s.size * 8))
      return;
  damaged("its floating-point type (" + std::to_string(t.size) + " bytes, exponent " + std::to_string(t.exp_size) +
          " bits, mantissa " + std::to_string(t.mant_size) + " bits) is not IEEE binary16/32/64");
}

double float_at(const Datatype& t, std::span<const uint8_t> raw, uint64_t i) {
  const uint8_t* p = raw.data() + i * t.size;
  uint64_t bits = 0;
  for (uint64_t k = 0; k < t.size; ++k) {
    const uint64_t byte = t.big_endian ? p[k] : p[t.size - 1 - k];
    bits = (bits << 8) | byte;
  }
  if (t.size == 8) {
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  if (t.size == 4) {
    const uint32_t b = static_cast<uint32_t>(bits);
    float v;
    std::memcpy(&v, &b, 4);
    return v;
  }
  // binary16
  const int sign = static_cast<int>((bits >> 15) & 1);
  const int exp = static_cast<int>((bits >> 10) & 0x1f);
  const int mant = static_cast<int>(bits & 0x3ff);
  double v;
  if (exp == 0)
    v = std::ldexp(mant, -24);
  else if (exp == 31)
    v = mant ? std::nan("") : INFINITY;
  else
    v = std::ldexp(mant + 1024, exp - 25);
  return sign ? -v : v;
}

std::vector<std::string> read_strings(const Image& image, GlobalHeap& heap, const Datatype& t,
                                      std::span<const uint8_t> raw, uint64_t count, uint64_t max_bytes) {
  std::vector<std::string> out;
  uint64_t total = 0;
  auto add = [&](const uint8_t* s, uint64_t len) {
    uint64_t n = 0;
    while (n < len && s[n] != 0) ++n;
    total += n + sizeof(std::string);  // empty strings cost memory too
    if (total > max_bytes) damaged("its strings exceed " + std::to_string(max_bytes) + " bytes");
    out.emplace_back(reinterpret_cast<const char*>(s), static_cast<size_t>(n));
  };
  if (t.size == 0 || raw.size() / t.size < count)
    damaged("its " + std::to_string(count) + " strings of " + std::to_string(t.size) + " bytes do not fit its " +
            std::to_string(raw.size()) + " bytes of values");
  if (t.cls == TypeClass::string) {
    for (uint64_t i = 0; i < count; ++i) {
      add(raw.data() + i * t.size, t.size);
      // Space-padded fixed strings keep their trailing spaces out.
      if (t.str_pad == 2)
        while (!out.back().empty() && out.back().back() == ' ') out.back().pop_back();
    }
    return out;
  }
  if (t.cls != TypeClass::vlen || !t.vlen_string) damaged("it does not hold strings");
  const uint64_t o = static_cast<uint64_t>(image.offset_size);
  if (t.size < 8 + o) damaged("its variable-length strings have " + std::to_string(t.size) + "-byte references");
  for (uint64_t i = 0; i < count; ++i) {
    Cursor c(raw.subspan(static_cast<size_t>(i * t.size), static_cast<size_t>(t.size)), image,
             "variable-length string reference", 0);
    const uint32_t len = c.u32();
    const uint64_t addr = c.address();
    const uint32_t index = c.u32();
    if (len == 0) {
      out.emplace_back();
      continue;
    }
    const auto obj = heap.object(addr, index);
    if (obj.size() < len)
      damaged(at_offset("global heap collection", addr) + ": object " + std::to_string(index) + " holds " +
              std::to_string(obj.size()) + " bytes, the string needs " + std::to_string(len));
    add(obj.data(), len);
  }
  return out;
}

}  // namespace rnnx::detail::h5
