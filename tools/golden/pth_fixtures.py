#!/usr/bin/python3
"""PyTorch checkpoint fixtures for anima's .pth reader (include/anima/io/pth.hpp), made by torch.save.

Run with Debian's interpreter, which has torch 1.13 (plain `python3` may be another interpreter):

    /usr/bin/python3 tools/golden/pth_fixtures.py       # writes tests/io/data/*

Valid files (each must load and equal its expected .safetensors, which holds the tensors as anima
loads them: float16/bfloat16 as float32, int32/int16/int8/uint8 as int64):

    small_zip.pth, small_legacy.pth        a tiny conv/bn/linear net's state_dict (zip and legacy
                                           format); bn's num_batches_tracked is int64   -> small_expected
    small_proto4_zip.pth, small_proto4_legacy.pth   the same written with pickle protocol 4 (FRAME,
                                           MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL)       -> small_expected
    dtypes_zip.pth, dtypes_legacy.pth      float16, bfloat16, float64, int64/32/16/8, uint8, bool,
                                           a 0-dim tensor, an empty tensor, two views of one storage
                                           (one at an offset), a transposed (non-contiguous) view
                                                                                        -> dtypes_expected
    nested_zip.pth                         {"epoch": 3, "state_dict": {"module." + name: ...}}
    nested_legacy.pth                      {"model": OrderedDict("module." + name: ...)}  -> small_expected
    zip64_dd.pth                           small_zip.pth's entries rewritten by hand with zip64 records
                                           and data descriptors (flag bit 3, zero sizes in the local
                                           headers)                                     -> small_expected
    from_type_v2.pth                       a Parameter as torch >= 1.12 pickles one (keep_vars=True):
                                           torch._tensor._rebuild_from_type_v2  -> from_type_v2_expected
    py2_legacy.pth                         a legacy file written by hand the way Python 2 / torch 0.x wrote
                                           old torchvision files (vgg16-397923af.pth): Python 2 str
                                           opcodes, OrderedDict as REDUCE(OrderedDict, ([[k, v], ...],)),
                                           torch._utils._rebuild_tensor (v1), a storage view
                                           (view_metadata)                              -> py2_expected

manifests/tiny.TEST.json describes small_zip.pth like weights/manifests/*.json describe torchvision's
files (for the `anima weights inspect` test, tests/io/cli).

Corrupt files (each must fail with an anima::Error naming the file and the problem; the test
tests/io/pth_test.cpp lists the message each must contain): bad_*.pth, bad_garbage.bin.

Kept small (the whole folder is about 60 KB).
"""
import collections
import io
import json
import os
import pickle
import pickletools
import struct
import sys
import zipfile
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ops import save_safetensors  # noqa: E402

DATA = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "io", "data"))


def out(name):
    return os.path.join(DATA, name)


def as_loaded(t):
    """The tensor as anima loads it: half/bfloat16 -> float32, small ints -> int64, contiguous."""
    t = t.detach().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.float()
    if t.dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        return t.long()
    return t.clone()


def expected(sd, name):
    save_safetensors(out(name), {k: as_loaded(v) for k, v in sd.items()},
                     {"generator": "tools/golden/pth_fixtures.py", "torch": torch.__version__})


def save(obj, name, legacy):
    torch.save(obj, out(name), _use_new_zipfile_serialization=not legacy)


def small_state_dict():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 2 * 2, 5))
    net.train()
    net(torch.randn(2, 3, 4, 4))  # running stats and num_batches_tracked move off their defaults
    return net, net.state_dict()


def tiny_manifest(sd, net):
    """manifests/tiny.TEST.json: the small net in the format of weights/manifests (for `anima weights
    inspect --manifests tests/io/data/manifests` in tests/io/cli)."""
    os.makedirs(out("manifests"), exist_ok=True)
    dtype = {torch.float32: "float32", torch.int64: "int64"}
    m = {"net": "tiny", "weights": "Tiny_Weights.TEST", "file": "small_zip.pth",
         "url": "https://example.invalid/small_zip-00000000.pth", "sha256_prefix": "00000000",
         "num_params": sum(p.numel() for p in net.parameters()), "num_classes": 5,
         "optional": ["num_batches_tracked"],
         "tensors": [{"name": k, "shape": list(v.shape), "dtype": dtype[v.dtype]} for k, v in sd.items()]}
    with open(out("manifests/tiny.TEST.json"), "w") as f:
        json.dump(m, f, indent=1)
        f.write("\n")


def dtypes_state_dict():
    g = torch.Generator().manual_seed(1)
    base = torch.randn(24, generator=g)
    mat = torch.randn(3, 5, generator=g)
    sd = collections.OrderedDict()
    sd["half"] = torch.randn(2, 3, generator=g).half()
    sd["bf16"] = torch.randn(3, 2, generator=g).bfloat16()
    sd["f64"] = torch.randn(4, generator=g).double()
    sd["i64"] = torch.tensor([-(2 ** 40), -1, 0, 7, 2 ** 50])
    sd["i32"] = torch.tensor([-(2 ** 31), -1, 2 ** 31 - 1], dtype=torch.int32)
    sd["i16"] = torch.tensor([-32768, 5, 32767], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["shared.whole"] = base.view(4, 6)           # the whole storage
    sd["shared.window"] = base[5:17].view(3, 4)    # the same storage at offset 5
    sd["shared.strided"] = base[1::3]              # stride 3, offset 1
    sd["transposed"] = mat.t()                     # [5, 3], strides (1, 5)
    return sd


# --- hand-made zip archives (zip64 + data descriptors) ---------------------------------------------

def write_zip64_dd(path, entries):
    """Stored entries with data descriptors (flag bit 3: the local header has zero CRC and sizes) and
    zip64 everywhere: 0xFFFFFFFF sizes/offsets in the central directory with a zip64 extra field, a
    zip64 end record and locator, and 0xFFFF/0xFFFFFFFF in the classic end record."""
    body = bytearray()
    central = bytearray()
    for name, data in entries:
        nb = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(body)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 8, 0, 0, 0, 0, 0, 0, len(nb), 0) + nb
        body += data
        body += struct.pack("<IIQQ", 0x08074B50, crc, len(data), len(data))  # zip64 data descriptor
        extra = struct.pack("<HHQQQ", 0x0001, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 8, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(nb), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + nb + extra
    cd_offset = len(body)
    z64 = len(body) + len(central)
    tail = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_offset)
    tail += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    tail += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(bytes(body) + bytes(central) + tail)


def zip_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_plain_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in entries:
            z.writestr(name, data)


# --- hand-made pickles of torch-like objects (for files torch.save cannot produce) -----------------

class FakeStorage:
    def __init__(self, key, storage_class, numel, data):
        self.key, self.storage_class, self.numel, self.data = key, storage_class, numel, data


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakeParameter(FakeTensor):
    """Pickled as torch >= 1.12 pickles a Parameter saved with keep_vars=True (a Tensor subclass)."""

    def __reduce__(self):
        return (torch._tensor._rebuild_from_type_v2,
                (torch._utils._rebuild_tensor_v2, torch.nn.Parameter, self.args, {}))


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.storage_class, obj.key, "cpu", obj.numel)
        return None


def crafted_zip(path, tensors, storages, drop=(), override=None):
    """A zip checkpoint of {name: FakeTensor}; `storages` are written as archive/data/<key> unless in
    `drop`; `override` maps a key to replacement bytes."""
    buf = io.BytesIO()
    FakePickler(buf, protocol=2).dump(collections.OrderedDict(tensors))
    entries = [("archive/data.pkl", buf.getvalue())]
    for s in storages:
        if s.key in drop:
            continue
        entries.append(("archive/data/" + s.key, (override or {}).get(s.key, s.data)))
    entries.append(("archive/version", b"3\n"))
    write_plain_zip(path, entries)


class P2:
    """Emits pickle opcodes the way Python 2's cPickle (protocol 2) wrote torch 0.x checkpoints."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")

    def s(self, text):  # SHORT_BINSTRING (a Python 2 str)
        t = text.encode()
        self.b += b"U" + bytes([len(t)]) + t

    def i(self, v):
        self.b += b"K" + bytes([v]) if 0 <= v < 256 else b"J" + struct.pack("<i", v)

    def op(self, code):
        self.b += code

    def glob(self, module, name):
        self.b += b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def done(self):
        return bytes(self.b + b".")


def py2_legacy(path):
    """Two root storages; one tensor uses a view (view_metadata) of root '1' at element offset 4."""
    g = torch.Generator().manual_seed(2)
    root0 = torch.randn(6, generator=g)
    root1 = torch.randn(10, generator=g)
    p = P2()
    p.glob("collections", "OrderedDict")
    p.op(b"]")  # the list of [key, value] pairs
    p.op(b"(")

    def tensor(key, root_numel, view, offset, size, stride):
        p.glob("torch._utils", "_rebuild_tensor")
        p.op(b"(")
        p.op(b"(")  # persistent id tuple
        p.s("storage")
        p.glob("torch", "FloatStorage")
        p.s(key)
        p.s("cpu")
        p.i(root_numel)
        if view is None:
            p.op(b"N")
        else:
            p.s(view[0])
            p.i(view[1])
            p.i(view[2])
            p.op(b"\x87")  # TUPLE3
        p.op(b"t")
        p.op(b"Q")  # BINPERSID
        p.i(offset)
        p.op(b"(")
        for v in size:
            p.i(v)
        p.op(b"t")
        p.op(b"(")
        for v in stride:
            p.i(v)
        p.op(b"t")
        p.op(b"t")
        p.op(b"R")

    # Each pair is a Python 2 list [key, value]: EMPTY_LIST MARK key value APPENDS.
    p.op(b"]"); p.op(b"("); p.s("features.0.weight"); tensor("1000", 6, None, 0, (2, 3), (3, 1)); p.op(b"e")
    p.op(b"]"); p.op(b"("); p.s("features.0.bias"); tensor("2000", 10, ("2001", 4, 5), 1, (2, 2), (1, 2)); p.op(b"e")
    p.op(b"e")     # APPENDS the pairs to the outer list
    p.op(b"\x85")  # TUPLE1: (pairs,)
    p.op(b"R")     # OrderedDict(pairs)
    state = p.done()

    head = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
    head += pickle.dumps({"protocol_version": 1001, "little_endian": True,
                          "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    keys = P2()
    keys.op(b"]")
    keys.op(b"(")
    keys.s("1000")
    keys.s("2000")
    keys.op(b"e")
    blob = head + state + keys.done()
    for r in (root0, root1):
        blob += struct.pack("<q", r.numel()) + r.numpy().tobytes()
    with open(path, "wb") as f:
        f.write(blob)
    view = root1[4:9]
    return collections.OrderedDict([
        ("features.0.weight", root0.view(2, 3)),
        ("features.0.bias", torch.as_strided(view, (2, 2), (1, 2), view.storage_offset() + 1)),
    ])


def main():
    os.makedirs(DATA, exist_ok=True)
    for f in os.listdir(DATA):
        if f.endswith((".pth", ".safetensors", ".bin")):
            os.remove(os.path.join(DATA, f))

    net, small = small_state_dict()
    save(small, "small_zip.pth", legacy=False)
    save(small, "small_legacy.pth", legacy=True)
    # pickle protocol 4: FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL instead of protocol 2's opcodes.
    torch.save(small, out("small_proto4_zip.pth"), pickle_protocol=4)
    torch.save(small, out("small_proto4_legacy.pth"), pickle_protocol=4, _use_new_zipfile_serialization=False)
    expected(small, "small_expected.safetensors")
    tiny_manifest(small, net)

    dt = dtypes_state_dict()
    save(dt, "dtypes_zip.pth", legacy=False)
    save(dt, "dtypes_legacy.pth", legacy=True)
    expected(dt, "dtypes_expected.safetensors")

    prefixed = collections.OrderedDict(("module." + k, v) for k, v in small.items())
    save({"epoch": 3, "state_dict": prefixed}, "nested_zip.pth", legacy=False)
    save({"model": prefixed, "optimizer": {"lr": 0.1}}, "nested_legacy.pth", legacy=True)

    write_zip64_dd(out("zip64_dd.pth"), zip_entries(out("small_zip.pth")))

    made = py2_legacy(out("py2_legacy.pth"))
    loaded = torch.load(out("py2_legacy.pth"))  # torch's reading of the hand-made file is the reference
    assert list(loaded) == list(made) and all(torch.equal(loaded[k], made[k]) for k in made)
    expected(loaded, "py2_expected.safetensors")

    g = torch.Generator().manual_seed(3)
    vals = torch.randn(6, generator=g)
    st = FakeStorage("0", torch.FloatStorage, 6, vals.numpy().tobytes())
    crafted_zip(out("from_type_v2.pth"),
                {"p": FakeParameter(st, 0, (2, 3), (3, 1)), "t": FakeTensor(st, 1, (2,), (2,))}, [st])
    loaded = torch.load(out("from_type_v2.pth"))
    assert isinstance(loaded["p"], torch.nn.Parameter)
    expected(loaded, "from_type_v2_expected.safetensors")

    # --- corrupt and unsupported files ---
    def cut(src, dst, n):
        with open(out(src), "rb") as f:
            b = f.read()
        with open(out(dst), "wb") as f:
            f.write(b[:n] if n >= 0 else b[:len(b) + n])

    cut("small_zip.pth", "bad_truncated_zip.pth", os.path.getsize(out("small_zip.pth")) * 6 // 10)
    cut("small_legacy.pth", "bad_truncated_legacy_data.pth", -20)
    cut("small_legacy.pth", "bad_truncated_legacy_pickle.pth", 40)  # inside the sys_info pickle
    write_plain_zip(out("bad_compressed.pth"), zip_entries(out("small_zip.pth")), zipfile.ZIP_DEFLATED)
    with open(out("small_legacy.pth"), "rb") as f:
        b = bytearray(f.read())
    b[5] ^= 0xFF  # inside the magic number's LONG1 bytes
    with open(out("bad_magic_legacy.pth"), "wb") as f:
        f.write(b)
    # The element count of the first storage in the data section (right after the key list pickle).
    b = bytearray(open(out("small_legacy.pth"), "rb").read())
    buf = io.BytesIO(bytes(b))
    for _ in range(5):  # magic, version, sys_info, the state_dict, the key list
        for _ in pickletools.genops(buf):  # walks one pickle up to its STOP, executing nothing
            pass
    pos = buf.tell()
    count = struct.unpack_from("<q", b, pos)[0]
    struct.pack_into("<q", b, pos, count + 1)
    with open(out("bad_count_legacy.pth"), "wb") as f:
        f.write(b)

    torch.save(net, out("bad_module_object.pth"))
    write_plain_zip(out("bad_protocol0.pth"), [("archive/data.pkl", pickle.dumps({"w": 1}, protocol=0)),
                                               ("archive/version", b"3\n")])
    torch.save([torch.zeros(2)], out("bad_not_a_dict.pth"))
    torch.save({"w": torch.zeros(2), "epoch": 3}, out("bad_non_tensor.pth"))

    ten = torch.arange(10, dtype=torch.float32)
    s = FakeStorage("0", torch.FloatStorage, 10, ten.numpy().tobytes())
    crafted_zip(out("bad_out_of_bounds.pth"), {"w": FakeTensor(s, 0, (100,), (1,))}, [s])
    crafted_zip(out("bad_offset_out_of_bounds.pth"), {"w": FakeTensor(s, 8, (2, 2), (2, 1))}, [s])
    crafted_zip(out("bad_storage_size.pth"), {"w": FakeTensor(s, 0, (10,), (1,))}, [s],
                override={"0": ten.numpy().tobytes()[:36]})
    crafted_zip(out("bad_missing_storage.pth"), {"w": FakeTensor(s, 0, (10,), (1,))}, [s], drop=("0",))
    huge = FakeStorage("0", torch.FloatStorage, 2 ** 60, b"")
    crafted_zip(out("bad_huge_storage.pth"), {"w": FakeTensor(huge, 0, (4,), (1,))}, [huge])
    one = FakeStorage("0", torch.FloatStorage, 1, b"\0" * 4)  # 3 x 2^24 stride-0 views of one float: 192 MiB
    crafted_zip(out("bad_many_views.pth"), {"v%d" % i: FakeTensor(one, 0, (2 ** 24,), (0,)) for i in range(3)}, [one])
    bools = FakeStorage("0", torch.BoolStorage, 3, bytes([1, 2, 0]))
    crafted_zip(out("bad_bool.pth"), {"w": FakeTensor(bools, 0, (3,), (1,))}, [bools])
    cplx = FakeStorage("0", torch.ComplexFloatStorage, 1, b"\0" * 8)
    crafted_zip(out("bad_complex.pth"), {"w": FakeTensor(cplx, 0, (1,), (1,))}, [cplx])
    with open(out("bad_garbage.bin"), "wb") as f:
        f.write(b"this is not a weight file\n")

    files = [os.path.join(r, f) for r, _, fs in os.walk(DATA) for f in fs]
    print("wrote %d files, %d bytes, to %s" % (len(files), sum(os.path.getsize(f) for f in files), DATA))


if __name__ == "__main__":
    main()
