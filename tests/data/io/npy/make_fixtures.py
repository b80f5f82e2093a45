"""Writes the .npy/.npz fixtures read by tests/unit/npy_test.cpp (run with any NumPy >= 1.17:
`python make_fixtures.py` in this folder). Values are simple so the test can spell them out."""
import numpy as np

a = (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0)
np.save("f4_2x3.npy", a)
np.save("f8_scalar.npy", np.float64(3.25))
np.save("i4_vec.npy", np.array([-3, 0, 7, 2147483647], dtype=np.int32))
np.save("i8_vec.npy", np.array([-(2 ** 40), 5], dtype=np.int64))
np.save("u1_2x2.npy", np.array([[0, 1], [254, 255]], dtype=np.uint8))
np.save("b1_2x3.npy", np.array([[True, False, True], [False, False, True]]))
np.save("f4_empty_0x3.npy", np.zeros((0, 3), np.float32))
np.save("f4_fortran.npy", np.asfortranarray(a))
np.save("f4_big_endian.npy", a.astype(">f4"))
for version in [(2, 0), (3, 0)]:
    with open("f4_2x3_v%d.npy" % version[0], "wb") as f:
        np.lib.format.write_array(f, a, version=version)
big = np.sin(np.arange(20000, dtype=np.float32) * 0.01).reshape(200, 100)
np.savez("savez.npz", w0=a, ids=np.array([1, 2, 0], np.int32), mask=np.array([[1, 0]], np.uint8), big=big)
np.savez_compressed("savez_compressed.npz", w0=a, ids=np.array([1, 2, 0], np.int32),
                    mask=np.array([[1, 0]], np.uint8), big=big)
