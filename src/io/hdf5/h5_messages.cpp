// Object headers and header messages (see h5_messages.h). Field layouts follow the HDF5
// File Format Specification 3.0, section IV.A; comments name the fields where the layout
// is not obvious.
#include "io/hdf5/h5_messages.h"

#include <set>
#include <utility>

namespace rnnx::detail::h5 {

namespace {

std::string message_name(uint16_t type) {
  switch (type) {
    case kDataspace:
      return "dataspace message";
    case kLinkInfo:
      return "link info message";
    case kDatatype:
      return "datatype message";
    case kFillValueOld:
    case kFillValue:
      return "fill value message";
    case kLink:
      return "link message";
    case kLayout:
      return "data layout message";
    case kFilterPipeline:
      return "filter pipeline message";
    case kAttribute:
      return "attribute message";
    case kSymbolTable:
      return "symbol table message";
    case kAttributeInfo:
      return "attribute info message";
    default:
      return "header message type " + std::to_string(type);
  }
}

Cursor cursor_of(const Image& image, const Message& m) { return Cursor(m.data, image, message_name(m.type), m.addr); }

// One block of messages: `c` positioned at the first message.
void read_messages(Cursor& c, int version, bool creation_order, std::vector<Message>& out,
                   std::vector<std::pair<uint64_t, uint64_t>>& continuations) {
  const uint64_t header = version == 1 ? 8 : (creation_order ? 6 : 4);
  while (c.remaining() >= header) {
    Message m;
    uint64_t size = 0;
    if (version == 1) {
      m.type = c.u16();
      size = c.u16();
      m.flags = c.u8();
      c.skip(3);
    } else {
      m.type = c.u8();
      size = c.u16();
      m.flags = c.u8();
      if (creation_order) c.skip(2);
    }
    const uint64_t body_at = c.file_addr() + c.pos();
    if (size > c.remaining())
      c.fail("holds a " + message_name(m.type) + " of " + std::to_string(size) + " bytes, only " +
             std::to_string(c.remaining()) + " are left in the header");
    m.data = c.bytes(size);
    m.addr = body_at;
    if (m.type == kContinuation) {
      Cursor cc(m.data, c.image(), "object header continuation message", body_at);
      const uint64_t addr = cc.address();
      const uint64_t len = cc.length();
      continuations.emplace_back(addr, len);
    } else if (m.type != kNil) {
      out.push_back(m);
    }
    if (version == 1) c.align(8);
  }
}

}  // namespace

std::vector<Message> read_object_header(const Image& image, uint64_t addr) {
  std::vector<Message> out;
  std::vector<std::pair<uint64_t, uint64_t>> continuations;
  const auto first = image.from(addr, 16, "object header");
  Cursor c(first, image, "object header", addr);
  int version = 0;
  bool creation_order = false;
  if (first[0] == 'O' && first[1] == 'H' && first[2] == 'D' && first[3] == 'R') {
    c.signature("OHDR");
    version = c.u8();
    if (version != 2) c.fail("has version " + std::to_string(version) + " (rnnx reads versions 1 and 2)");
    const uint8_t flags = c.u8();
    creation_order = flags & 0x04;
    if (flags & 0x20) c.skip(16);  // access, modification, change, birth times
    if (flags & 0x10) c.skip(4);   // attribute phase change values
    const uint64_t chunk0 = c.uint(1 << (flags & 0x03));
    const uint64_t start = c.pos();
    // The chunk, then a 4-byte checksum.
    if (chunk0 > c.remaining() || c.remaining() - chunk0 < 4)
      c.fail("declares " + std::to_string(chunk0) + " bytes of messages, the file has " +
             std::to_string(c.remaining()) + " after its prefix");
    Cursor body(first.subspan(static_cast<size_t>(start), static_cast<size_t>(chunk0)), image, "object header",
                addr + start);
    read_messages(body, 2, creation_order, out, continuations);
  } else {
    version = c.u8();
    if (version != 1) c.fail("has version " + std::to_string(version) + " (rnnx reads versions 1 and 2)");
    c.skip(1);  // reserved
    c.skip(2);  // number of messages: the blocks themselves are walked instead
    c.skip(4);  // reference count
    const uint64_t size = c.u32();
    c.skip(4);  // padding to 8 bytes
    if (size > c.remaining())
      c.fail("declares " + std::to_string(size) + " bytes of messages, the file has " + std::to_string(c.remaining()) +
             " after its prefix");
    Cursor body(first.subspan(16, static_cast<size_t>(size)), image, "object header", addr + 16);
    read_messages(body, 1, false, out, continuations);
  }
  // Continuation blocks, each at most once (a cycle of continuations would never end).
  // Their lengths together cannot exceed the file (overlapping blocks would multiply work).
  std::set<uint64_t> seen{addr};
  uint64_t block_bytes = 0;
  for (size_t i = 0; i < continuations.size(); ++i) {
    const auto [caddr, clen] = continuations[i];
    block_bytes = checked_add(block_bytes, clen, "object header continuation lengths");
    if (block_bytes > image.bytes.size())
      damaged(at_offset("object header", addr) + " has continuation blocks of " + std::to_string(block_bytes) +
              " bytes in all, more than the file");
    if (!seen.insert(caddr).second)
      damaged(at_offset("object header", addr) + " continues twice at offset " + std::to_string(caddr) +
              " (a cycle of continuation blocks)");
    if (seen.size() > static_cast<size_t>(kMaxContinuations))
      damaged(at_offset("object header", addr) + " has more than " + std::to_string(kMaxContinuations) +
              " continuation blocks");
    const auto block = image.at(caddr, clen, "object header continuation block");
    Cursor cc(block, image, "object header continuation block", caddr);
    if (version == 2) {
      cc.signature("OCHK");
      if (cc.remaining() < 4) cc.fail("is too short for its checksum");
      Cursor body(block.subspan(4, block.size() - 8), image, "object header continuation block", caddr + 4);
      read_messages(body, 2, creation_order, out, continuations);
    } else {
      read_messages(cc, 1, false, out, continuations);
    }
  }
  return out;
}

uint64_t Dataspace::count() const {
  if (kind == null) return 0;
  uint64_t n = 1;
  for (uint64_t d : dims) n = checked_mul(n, d, "the dataspace's element count");
  return n;
}

Datatype parse_datatype(Cursor& c, int depth) {
  if (depth > 8) c.fail("nests datatypes more than 8 levels deep");
  Datatype t;
  const uint8_t cv = c.u8();
  const int cls = cv & 0x0f;
  const int version = cv >> 4;
  if (version < 1 || version > 5) c.fail("has datatype version " + std::to_string(version));
  if (cls > 11) c.fail("has an unknown datatype class " + std::to_string(cls));
  t.cls = static_cast<TypeClass>(cls);
  const uint32_t bits = static_cast<uint32_t>(c.uint(3));
  t.size = c.u32();
  switch (t.cls) {
    case TypeClass::fixed_point:
      t.big_endian = bits & 0x01;
      t.is_signed = bits & 0x08;
      t.bit_offset = c.u16();
      t.precision = c.u16();
      break;
    case TypeClass::floating:
      if (bits & 0x40) c.fail("uses VAX byte order, which rnnx does not read");
      t.big_endian = bits & 0x01;
      t.sign_loc = static_cast<int>((bits >> 8) & 0xff);
      t.bit_offset = c.u16();
      t.precision = c.u16();
      t.exp_loc = c.u8();
      t.exp_size = c.u8();
      t.mant_loc = c.u8();
      t.mant_size = c.u8();
      t.exp_bias = c.u32();
      break;
    case TypeClass::string:
      t.str_pad = static_cast<int>(bits & 0x0f);
      t.cset = static_cast<int>((bits >> 4) & 0x0f);
      break;
    case TypeClass::vlen:
      t.vlen_string = (bits & 0x0f) == 1;
      t.str_pad = static_cast<int>((bits >> 4) & 0x0f);
      t.cset = static_cast<int>((bits >> 8) & 0x0f);
      break;
    default:
      // Other classes are classified, never converted: their properties are not needed.
      break;
  }
  return t;
}

Dataspace parse_dataspace(Cursor& c) {
  Dataspace s;
  const int version = c.u8();
  if (version != 1 && version != 2) c.fail("has version " + std::to_string(version) + " (rnnx reads 1 and 2)");
  const int rank = c.u8();
  const uint8_t flags = c.u8();
  if (rank > kMaxRank) c.fail("has rank " + std::to_string(rank) + " (HDF5 allows at most 32)");
  if (version == 1) {
    c.skip(5);  // reserved
    s.kind = rank == 0 ? Dataspace::scalar : Dataspace::simple;
  } else {
    const int type = c.u8();
    if (type > 2) c.fail("has an unknown dataspace type " + std::to_string(type));
    s.kind = type == 0 ? Dataspace::scalar : type == 1 ? Dataspace::simple : Dataspace::null;
  }
  for (int i = 0; i < rank; ++i) s.dims.push_back(c.length());
  if (flags & 0x01) {
    for (int i = 0; i < rank; ++i) s.max_dims.push_back(c.length());
  } else {
    s.max_dims = s.dims;
  }
  if (s.kind != Dataspace::simple) {
    s.dims.clear();
    s.max_dims.clear();
  }
  return s;
}

namespace {

// The committed datatype a shared datatype message points at.
Datatype shared_datatype(const Image& image, Cursor& c) {
  const int version = c.u8();
  const int type = c.u8();
  uint64_t addr = 0;
  if (version == 1) {
    c.skip(6);
    addr = c.address();
  } else if (version == 2) {
    addr = c.address();
  } else if (version == 3) {
    if (type == 1) c.fail("is stored in the shared object header message heap, which rnnx does not read");
    if (type != 2) c.fail("is shared in an unknown way (type " + std::to_string(type) + ")");
    addr = c.address();
  } else {
    c.fail("has shared message version " + std::to_string(version));
  }
  for (const Message& m : read_object_header(image, addr)) {
    if (m.type != kDatatype) continue;
    if (m.flags & 0x02) damaged(at_offset("committed datatype", addr) + " is itself shared");
    Cursor dc = cursor_of(image, m);
    return parse_datatype(dc);
  }
  damaged(at_offset("committed datatype", addr) + " has no datatype message");
}

}  // namespace

Datatype decode_datatype(const Image& image, const Message& m) {
  Cursor c = cursor_of(image, m);
  if (m.flags & 0x02) return shared_datatype(image, c);
  return parse_datatype(c);
}

Dataspace decode_dataspace(const Image& image, const Message& m) {
  Cursor c = cursor_of(image, m);
  if (m.flags & 0x02) c.fail("is shared, which rnnx does not read");
  return parse_dataspace(c);
}

std::optional<std::vector<uint8_t>> decode_fill_value(const Image& image, const Message& m) {
  Cursor c = cursor_of(image, m);
  if (m.flags & 0x02) c.fail("is shared, which rnnx does not read");
  auto value = [&]() -> std::optional<std::vector<uint8_t>> {
    const uint32_t size = c.u32();
    const auto b = c.bytes(size);
    if (size == 0) return std::nullopt;
    return std::vector<uint8_t>(b.begin(), b.end());
  };
  if (m.type == kFillValueOld) return value();
  const int version = c.u8();
  if (version == 1 || version == 2) {
    c.skip(2);  // allocation time, write time
    const int defined = c.u8();
    if (version == 1 || defined != 0) return value();
    return std::nullopt;
  }
  if (version == 3) {
    const uint8_t flags = c.u8();
    if (flags & 0x20) return value();
    return std::nullopt;
  }
  c.fail("has version " + std::to_string(version));
}

Layout decode_layout(const Image& image, const Message& m, int rank) {
  Cursor c = cursor_of(image, m);
  Layout l;
  l.version = c.u8();
  if (l.version < 1 || l.version > 4) c.fail("has version " + std::to_string(l.version));
  if (l.version <= 2) {
    const int ndims = c.u8();
    const int cls = c.u8();
    c.skip(5);
    if (cls > 2) c.fail("has an unknown layout class " + std::to_string(cls));
    l.cls = static_cast<Layout::Class>(cls);
    if (l.cls != Layout::compact) l.address = c.address();
    std::vector<uint64_t> dims;
    for (int i = 0; i < ndims; ++i) dims.push_back(c.u32());
    if (l.cls == Layout::chunked) {
      c.skip(4);  // element size
      if (ndims != rank && ndims != rank + 1)
        c.fail("has " + std::to_string(ndims) + " chunk dimensions for a dataset of rank " + std::to_string(rank));
      l.chunk.assign(dims.begin(), dims.begin() + rank);
    } else if (l.cls == Layout::compact) {
      const uint32_t size = c.u32();
      l.compact_data = c.bytes(size);
    } else {
      l.size = image.undefined();  // the caller computes it from the dataspace and datatype
    }
    return l;
  }
  const int cls = c.u8();
  if (cls == 3) c.fail("describes a virtual dataset (VDS), which rnnx refuses to read");
  if (cls > 3) c.fail("has an unknown layout class " + std::to_string(cls));
  l.cls = static_cast<Layout::Class>(cls);
  if (l.cls == Layout::compact) {
    const uint16_t size = c.u16();
    l.compact_data = c.bytes(size);
    return l;
  }
  if (l.cls == Layout::contiguous) {
    l.address = c.address();
    l.size = c.length();
    return l;
  }
  if (l.version == 3) {
    const int ndims = c.u8();
    l.address = c.address();
    if (ndims != rank + 1)
      c.fail("has " + std::to_string(ndims) + " chunk dimensions for a dataset of rank " + std::to_string(rank) +
             " (expected rank + 1)");
    for (int i = 0; i < ndims; ++i) {
      const uint64_t d = c.u32();
      if (i < rank) l.chunk.push_back(d);
    }
    l.index_type = 0;
    return l;
  }
  const uint8_t flags = c.u8();
  const int ndims = c.u8();
  const int enc = c.u8();
  if (enc < 1 || enc > 8) c.fail("encodes chunk dimensions in " + std::to_string(enc) + " bytes");
  if (ndims != rank + 1)
    c.fail("has " + std::to_string(ndims) + " chunk dimensions for a dataset of rank " + std::to_string(rank) +
           " (expected rank + 1)");
  for (int i = 0; i < ndims; ++i) {
    const uint64_t d = c.uint(enc);
    if (i < rank) l.chunk.push_back(d);
  }
  l.index_type = c.u8();
  switch (l.index_type) {
    case 1:
      if (flags & 0x02) {
        l.single_filtered = true;
        l.single_filtered_size = c.length();
        l.single_filter_mask = c.u32();
      }
      break;
    case 2:
      break;
    case 3:
      c.skip(1);  // page bits (the fixed array header repeats them)
      break;
    case 4:
      c.skip(5);
      break;
    case 5:
      c.skip(6);
      break;
    default:
      c.fail("has an unknown chunk index type " + std::to_string(l.index_type));
  }
  l.address = c.address();
  return l;
}

std::vector<Filter> decode_filters(const Image& image, const Message& m) {
  Cursor c = cursor_of(image, m);
  const int version = c.u8();
  if (version != 1 && version != 2) c.fail("has version " + std::to_string(version));
  const int n = c.u8();
  if (version == 1) c.skip(6);
  std::vector<Filter> out;
  for (int i = 0; i < n; ++i) {
    Filter f;
    f.id = c.u16();
    uint16_t name_len = 0;
    if (version == 1 || f.id >= 256) name_len = c.u16();
    f.flags = c.u16();
    const uint16_t nvalues = c.u16();
    if (name_len) {
      const auto name = c.bytes(name_len);
      for (uint8_t ch : name) {
        if (ch == 0) break;
        f.name.push_back(static_cast<char>(ch));
      }
    }
    for (int k = 0; k < nvalues; ++k) f.values.push_back(c.u32());
    if (version == 1 && (nvalues % 2)) c.skip(4);
    out.push_back(std::move(f));
  }
  return out;
}

Link decode_link(const Image& image, const Message& m) {
  Cursor c = cursor_of(image, m);
  const int version = c.u8();
  if (version != 1) c.fail("has version " + std::to_string(version));
  const uint8_t flags = c.u8();
  Link l;
  if (flags & 0x08) l.type = c.u8();
  if (flags & 0x04) c.skip(8);  // creation order
  if (flags & 0x10) c.skip(1);  // character set
  const uint64_t len = c.uint(1 << (flags & 0x03));
  if (len == 0) c.fail("has an empty link name");
  const auto name = c.bytes(len);
  l.name.assign(name.begin(), name.end());
  if (l.type == Link::hard) l.address = c.address();
  return l;
}

DenseInfo decode_dense_info(const Image& image, const Message& m) {
  Cursor c = cursor_of(image, m);
  const int version = c.u8();
  if (version != 0) c.fail("has version " + std::to_string(version));
  const uint8_t flags = c.u8();
  if (flags & 0x01) c.skip(m.type == kLinkInfo ? 8 : 2);  // maximum creation index
  DenseInfo d;
  d.heap = c.address();
  d.name_index = c.address();
  return d;
}

Attribute decode_attribute(const Image& image, std::span<const uint8_t> body, uint64_t addr) {
  Cursor c(body, image, "attribute message", addr);
  Attribute a;
  a.addr = addr;
  const int version = c.u8();
  if (version < 1 || version > 3) c.fail("has version " + std::to_string(version));
  const uint8_t flags = c.u8();
  const uint16_t name_size = c.u16();
  const uint16_t type_size = c.u16();
  const uint16_t space_size = c.u16();
  if (version == 3) c.skip(1);  // name character set
  const uint64_t pad = version == 1 ? 8 : 1;
  auto padded = [&](uint64_t n) { return (n + pad - 1) / pad * pad; };
  const auto name = c.bytes(padded(name_size));
  for (size_t i = 0; i < name_size && name[i] != 0; ++i) a.name.push_back(static_cast<char>(name[i]));
  const uint64_t type_at = c.pos();
  const auto type_bytes = c.bytes(padded(type_size));
  Cursor tc(type_bytes.first(type_size), image, "datatype of attribute '" + a.name + "'", addr + type_at);
  if (flags & 0x01) {
    Message shared{kDatatype, 0x02, type_bytes.first(type_size), addr + type_at};
    a.type = decode_datatype(image, shared);
  } else {
    a.type = parse_datatype(tc);
  }
  const uint64_t space_at = c.pos();
  const auto space_bytes = c.bytes(padded(space_size));
  if (flags & 0x02) c.fail("of attribute '" + a.name + "' has a shared dataspace, which rnnx does not read");
  Cursor sc(space_bytes.first(space_size), image, "dataspace of attribute '" + a.name + "'", addr + space_at);
  a.space = parse_dataspace(sc);
  const uint64_t n = checked_mul(a.space.count(), a.type.size, "attribute '" + a.name + "' size");
  if (n > c.remaining())
    c.fail("of attribute '" + a.name + "' holds " + std::to_string(c.remaining()) + " bytes of values, its " +
           std::to_string(a.space.count()) + " elements of " + std::to_string(a.type.size) + " bytes need " +
           std::to_string(n));
  a.data = c.bytes(n);
  return a;
}

SymbolTable decode_symbol_table(const Image& image, const Message& m) {
  Cursor c = cursor_of(image, m);
  SymbolTable s;
  s.btree = c.address();
  s.heap = c.address();
  return s;
}

uint64_t reported_size(const Datatype& t) {
  if (t.cls != TypeClass::vlen) return t.size;
  return t.vlen_string ? sizeof(char*) : sizeof(size_t) + sizeof(void*);
}

}  // namespace rnnx::detail::h5
