"""HDF5 format variants for rnnx's own HDF5 reader (issue 11).

Keras and tf_keras write only superblock 0, old-style groups and contiguous float32
datasets; h5py and libhdf5 can write much more. This script writes small files with the
other variants the reader supports (newer superblocks and object headers, compact and dense
link and attribute storage, compact and chunked layouts with each chunk index h5py writes,
deflate/shuffle/fletcher32, float16, big-endian values, space-padded and variable-length
strings, soft and external links, a user block) so that tests/io/hdf5_crosscheck_test.cpp
compares them with libhdf5 too, and files the reader must refuse (names containing
"refused"). libver is capped at v110 so Debian's libhdf5 1.10 can read every file.

    /work/venv-oracle/bin/python python/oracle/h5_format_cases.py tests/data/io/h5/formats
    /work/venv-oracle/bin/python python/oracle/h5_format_cases.py --fuzz-seeds tests/fuzz/corpus/hdf5
"""

import os
import sys

import h5py
import numpy as np


def fill_common(f, rng):
    f.attrs["title"] = "format variants"
    f.attrs["numbers"] = np.arange(5, dtype=np.int16)
    f.attrs["empty"] = h5py.Empty("f4")
    f.attrs.create("padded", np.array([b"ab  ", b"c   "], dtype="S4"))
    f.attrs["vlen_list"] = ["alpha", "", "gamma"]
    g = f.create_group("weights")
    g.create_dataset("f32", data=rng.standard_normal((3, 5)).astype("<f4"))
    g.create_dataset("f64_be", data=rng.standard_normal((4,)).astype(">f8"))
    g.create_dataset("f16", data=rng.standard_normal((2, 3)).astype("<f2"))
    g.create_dataset("i32_be", data=np.arange(6, dtype=">i4").reshape(2, 3))
    g.create_dataset("scalar", data=np.float32(2.5))
    g.create_dataset("empty", data=np.zeros((0, 3), dtype="f4"))
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple((2, 2))
    ds = h5py.h5d.create(g.id, b"compact", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, rng.standard_normal((2, 2)).astype("f4"))
    g.create_dataset("strings", data=np.array(["one", "two", "three"], dtype=h5py.string_dtype()))
    g.create_dataset("fixed", data=np.array([b"xy", b"z"], dtype="S3"))
    c = f.create_group("chunked")
    data = rng.standard_normal((37, 11)).astype("f4")
    c.create_dataset("plain", data=data, chunks=(8, 4))
    c.create_dataset("gzip_shuffle", data=data, chunks=(8, 4), compression="gzip", shuffle=True)
    c.create_dataset("fletcher", data=data, chunks=(10, 11), fletcher32=True, compression="gzip")
    c.create_dataset("single", data=data, chunks=(37, 11))
    c.create_dataset("single_gzip", data=data, chunks=(37, 11), compression="gzip")
    c.create_dataset("unwritten", shape=(5, 3), dtype="f4", chunks=(2, 2), fillvalue=1.5)
    big = rng.standard_normal((1200, 3)).astype("f4")
    c.create_dataset("many_chunks", data=big, chunks=(1, 3))  # > 1024 chunks: paged fixed array
    c.create_dataset("two_unlimited", data=data, chunks=(8, 4), maxshape=(None, None))  # v2 B-tree (v110)
    c.create_dataset("two_unlimited_gzip", data=data, chunks=(8, 4), maxshape=(None, None), compression="gzip")
    f["soft"] = h5py.SoftLink("/weights/f32")
    f["external"] = h5py.ExternalLink("elsewhere.h5", "/x")
    f["hard_again"] = g  # a second hard link to the same group
    many = f.create_group("many_links")
    for i in range(20):
        many.create_dataset("d%02d" % i, data=np.full((2,), i, dtype="f4"))
    attrs = f.create_group("many_attrs")
    for i in range(20):
        attrs.attrs["a%02d" % i] = "value %d" % i
    attrs.attrs["big"] = np.arange(9000, dtype="f8")  # > 64 KiB: dense storage, huge heap object


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(11)
    for name, libver in (("earliest", "earliest"), ("v110", ("v110", "v110"))):
        path = os.path.join(out_dir, "variants_%s.h5" % name)
        with h5py.File(path, "w", libver=libver) as f:
            if name == "earliest":
                # The old format has no dense attributes: keep attributes small there.
                fill_common_old(f, rng)
            else:
                fill_common(f, rng)
    with h5py.File(os.path.join(out_dir, "variants_track_order.h5"), "w", track_order=True) as f:
        for n in ("b", "a", "c"):
            f.create_group(n).attrs["n"] = n
        f["a"].create_dataset("x", data=np.arange(3, dtype="f4"))
    with h5py.File(os.path.join(out_dir, "variants_userblock.h5"), "w", userblock_size=512) as f:
        f.create_dataset("x", data=np.arange(4, dtype="f4"))
        f.attrs["note"] = "after a 512-byte user block"
    # Refused: resizable dataset (extensible array index), external storage, virtual dataset.
    with h5py.File(os.path.join(out_dir, "refused_extensible_array.h5"), "w", libver=("v110", "v110")) as f:
        f.create_dataset("x", data=np.arange(10, dtype="f4"), chunks=(2,), maxshape=(None,))
    with h5py.File(os.path.join(out_dir, "refused_external_storage.h5"), "w") as f:
        f.create_dataset("x", shape=(4,), dtype="f4", external=[("outside.bin", 0, 16)])
    with h5py.File(os.path.join(out_dir, "refused_virtual.h5"), "w", libver=("v110", "v110")) as f:
        f.create_dataset("src", data=np.arange(4, dtype="f4"))
        layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
        layout[:] = h5py.VirtualSource(f["src"])
        f.create_virtual_dataset("x", layout)
    with open(os.path.join(out_dir, "README.md"), "w") as readme:
        readme.write(
            "HDF5 format variants written by `python/oracle/h5_format_cases.py` (h5py %s, HDF5 %s;\n"
            "libver capped at v110 so Debian's libhdf5 1.10 reads them). `variants_*.h5` are compared\n"
            "with libhdf5 by tests/io/hdf5_crosscheck_test.cpp; rnnx must refuse `refused_*.h5`.\n"
            % (h5py.version.version, h5py.version.hdf5_version))


def fill_common_old(f, rng):
    f.attrs["title"] = "format variants (earliest)"
    f.attrs.create("padded", np.array([b"ab  ", b"c   "], dtype="S4"))
    f.attrs["vlen_list"] = ["alpha", "", "gamma"]
    g = f.create_group("weights")
    g.create_dataset("f64_be", data=rng.standard_normal((4,)).astype(">f8"))
    g.create_dataset("f16", data=rng.standard_normal((2, 3)).astype("<f2"))
    c = f.create_group("chunked")
    data = rng.standard_normal((37, 11)).astype("f4")
    c.create_dataset("plain", data=data, chunks=(8, 4))
    c.create_dataset("gzip_shuffle", data=data, chunks=(8, 4), compression="gzip", shuffle=True)
    c.create_dataset("resizable", data=data, chunks=(8, 4), maxshape=(None, 11), compression="gzip")
    many = f.create_group("many_links")
    for i in range(40):
        many.create_group("g%02d" % i)
    f["soft"] = h5py.SoftLink("/weights/f16")


def fuzz_seeds(out_dir):
    """Small seeds for tests/fuzz/corpus/hdf5: each variant the reader walks, under 16 KiB."""
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(3)
    data = rng.standard_normal((9, 5)).astype("f4")
    with h5py.File(os.path.join(out_dir, "v110_dense.h5"), "w", libver=("v110", "v110")) as f:
        g = f.create_group("g")
        for i in range(10):
            g.create_dataset("d%d" % i, data=np.full((2,), i, dtype="f2"))
            g.attrs["a%d" % i] = "v%d" % i
        f.create_dataset("gzip", data=data, chunks=(4, 5), compression="gzip", shuffle=True)
        f.create_dataset("v2", data=data, chunks=(4, 2), maxshape=(None, None))
        f.create_dataset("fixed", data=data, chunks=(2, 2), fletcher32=True)
        f["soft"] = h5py.SoftLink("/g")
    with h5py.File(os.path.join(out_dir, "v0_chunked.h5"), "w") as f:
        f.attrs["names"] = [b"ab", b"cd"]
        f.attrs["vlen"] = ["x", "yz"]
        f.create_dataset("c", data=data.astype(">f8"), chunks=(4, 4), compression="gzip")
        f.create_dataset("s", data=np.array(["p", "q"], dtype=h5py.string_dtype()))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--fuzz-seeds":
        fuzz_seeds(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/io/h5/formats")
