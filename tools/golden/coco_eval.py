#!/usr/bin/python3
"""Golden fixture for anima's COCO metrics (include/anima/metrics/coco_eval.hpp) and COCO polygon / RLE
masks (include/anima/io/coco_polygon.hpp, coco_rle.hpp), computed by the real pycocotools: its
COCOeval (cocoeval.py), COCO (coco.py), mask.py and common/maskApi.c, from a cocoapi checkout.

Run with Debian's interpreter (numpy, torch), pointing at a cocodataset/cocoapi source tree (the
folder that holds PythonAPI/ and common/; the fixture was made from its commit 8c9bcc3c, 2020-02-20):
  /usr/bin/python3 tools/golden/coco_eval.py --cocoapi /path/to/cocoapi
                                                 # writes tests/golden/data/coco_eval.safetensors

pycocotools' C extension `pycocotools._mask` is a Cython file (_mask.pyx) wrapping common/maskApi.c.
Debian's python3 has no Cython and no pycocotools package, so this script compiles maskApi.c with gcc
(-O2 -std=c99, as setup.py does) into a temporary shared library and installs, as
sys.modules['pycocotools._mask'], a ctypes module that reproduces _mask.pyx function by function
(encode, decode, merge, area, iou, toBbox, frBbox, frPoly, frUncompressedRLE, frPyObjects): the same
calls into maskApi.c, Fortran-order masks, "counts" strings through rleToString / rleFrString, iscrowd
passed to rleIou / bbIou, IoU matrices reshaped [dt, gt] in Fortran order. It is glue only: every
mask, IoU and evaluation number comes from maskApi.c and cocoeval.py unchanged. Two more pieces of
glue: matplotlib (imported by coco.py for showAnns only) is stubbed when absent, and numpy >= 1.24's
missing alias np.float (cocoeval.accumulate's cast) is set back to the builtin float it aliased.

Case "eval" (one dataset, evaluated with iouType 'bbox' and 'segm'): 4 images (ids 3, 7, 12, 20; 120x90
and 200x150), categories 1, 2, 5 (5 has detections but no ground truth); ground truths as polygons
(one of two polygons, a concave one, a 32x32 square of area exactly 32^2), a compressed-RLE ground
truth, an iscrowd region as uncompressed RLE, areas small / medium / large (each ground truth carries
an explicit "area": the polygon's shoelace area, or the pixel count for RLEs); detections made by
jittering the objects' polygons (boxes = the jittered polygon's bounds, masks = frPyObjects + merge of
it), with duplicates, misses, false positives (an image with no ground truth), detections inside the
crowd region, tied scores, 17 detections of one category on one image, and one detection of an
unlisted category (9). Results: bbox results carry "bbox" only, segm results "segmentation" only (so
pycocotools' detection area is the box's w*h, resp. the mask's pixel count, as anima defines it).

Tensors (float64 unless noted; int64 are I64, masks U8):
  eval/images (int64 [N, 3])     id, height, width, in pycocotools' order (sorted ids)
  eval/categories (int64 [K])    category ids, sorted
  eval/gt/ids (int64 [G, 3])     image_id, category_id, iscrowd;  eval/gt/bbox [G, 4];  eval/gt/area [G]
  eval/gt/<i>/polygon/<j>        the polygons of ground truth i (when given as polygons)
  eval/gt/<i>/runs (int64)       the uncompressed RLE counts of ground truth i (when given so)
  eval/dt/ids (int64 [D, 2])     image_id, category_id;  eval/dt/bbox [D, 4];  eval/dt/score [D]
  eval/dt/<i>/polygon/<j>        the (jittered) polygons detection i's mask was rasterised from
  eval/<type>/stats [12]         COCOeval.stats for type bbox, segm
  eval/<type>/ap_per_category [K]        mean of precision[:, :, k, 0, 2] over entries > -1, else -1
  eval/<type>/precision50 [K, 101], precision75 [K, 101]   precision[0 | 5, :, k, 0, 2]
  poly/<case>/size (int64 [2])   height, width;  poly/<case>/<j> the polygons
  poly/<case>/mask (U8 [h, w])   decode(merge(frPyObjects(polygons, h, w))), row-major
Metadata (JSON lists of strings):
  "eval/gt_counts"   per ground truth, the compressed RLE counts COCOeval evaluates (annToRLE)
  "eval/dt_counts"   per detection, its compressed RLE counts (the segm results' "segmentation")
  "poly_cases"       the polygon case names;  "poly_counts"  per case, encode(mask)["counts"]
"""
import argparse
import contextlib
import copy
import ctypes
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops import save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "data",
                   "coco_eval.safetensors")


# ---------------------------------------------------------------------------------------------------
# pycocotools._mask through ctypes (see the header): _mask.pyx's functions over maskApi.c.

class _RLE(ctypes.Structure):
    # maskApi.h: typedef struct { siz h, w, m; uint *cnts; } RLE;  (siz = unsigned long)
    _fields_ = [("h", ctypes.c_ulong), ("w", ctypes.c_ulong), ("m", ctypes.c_ulong),
                ("cnts", ctypes.POINTER(ctypes.c_uint))]


def build_mask_module(cocoapi):
    """Compiles common/maskApi.c and returns a module standing in for pycocotools._mask."""
    tmp = tempfile.mkdtemp(prefix="maskApi")
    try:
        so = os.path.join(tmp, "libmaskApi.so")
        subprocess.run(["gcc", "-O2", "-std=c99", "-fPIC", "-shared", "-Wno-cpp", "-Wno-unused-function",
                        os.path.join(cocoapi, "common", "maskApi.c"), "-o", so, "-lm"], check=True)
        lib = ctypes.CDLL(so)
    finally:
        shutil.rmtree(tmp)
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    P, siz = ctypes.POINTER, ctypes.c_ulong
    pR, pD, pB, pU = P(_RLE), P(ctypes.c_double), P(ctypes.c_ubyte), P(ctypes.c_uint)
    sig = {
        "rleFree": [pR], "rleEncode": [pR, pB, siz, siz, siz], "rleDecode": [pR, pB, siz],
        "rleMerge": [pR, pR, siz, ctypes.c_int], "rleArea": [pR, siz, pU],
        "rleIou": [pR, pR, siz, siz, pB, pD], "bbIou": [pD, pD, siz, siz, pB, pD], "rleToBbox": [pR, pD, siz],
        "rleFrBbox": [pR, pD, siz, siz, siz], "rleFrPoly": [pR, pD, siz, siz, siz], "rleToString": [pR],
        "rleFrString": [pR, ctypes.c_char_p, siz, siz],
    }
    for name, args in sig.items():
        getattr(lib, name).argtypes = args
        getattr(lib, name).restype = None
    lib.rleToString.restype = ctypes.c_void_p  # a malloc'd char*, freed below

    def ptr(a, t):
        return a.ctypes.data_as(P(t))

    class RLEs:
        """An array of n RLEs owning their counts (_mask.pyx's RLEs)."""

        def __init__(self, n=0):
            self.n = n
            self._R = (_RLE * n)()  # zeroed: h = w = m = 0, cnts = NULL (rlesInit)

        def __del__(self):
            for i in range(self.n):
                lib.rleFree(ctypes.byref(self._R[i]))

    def _string_of(r):
        p = lib.rleToString(ctypes.byref(r))
        s = ctypes.string_at(p)
        libc.free(p)
        return {"size": [r.h, r.w], "counts": s}

    def _toString(Rs):
        return [_string_of(Rs._R[i]) for i in range(Rs.n)]

    def _frString(rleObjs):
        Rs = RLEs(len(rleObjs))
        for i, obj in enumerate(rleObjs):
            s = str.encode(obj["counts"]) if type(obj["counts"]) == str else obj["counts"]
            lib.rleFrString(ctypes.byref(Rs._R[i]), s, obj["size"][0], obj["size"][1])
        return Rs

    def encode(mask):
        # _mask.pyx types the argument np.ndarray[np.uint8_t, ndim=3, mode='fortran']
        if not (isinstance(mask, np.ndarray) and mask.dtype == np.uint8 and mask.ndim == 3
                and mask.flags.f_contiguous):
            raise ValueError("encode expects a uint8 [h, w, n] array in Fortran order")
        h, w, n = mask.shape
        Rs = RLEs(n)
        lib.rleEncode(Rs._R, ptr(mask, ctypes.c_ubyte), h, w, n)
        return _toString(Rs)

    def decode(rleObjs):
        Rs = _frString(rleObjs)
        h, w, n = Rs._R[0].h, Rs._R[0].w, Rs.n
        masks = np.zeros(h * w * n, dtype=np.uint8)
        lib.rleDecode(Rs._R, ptr(masks, ctypes.c_ubyte), n)
        return masks.reshape((h, w, n), order="F")

    def merge(rleObjs, intersect=0):
        Rs = _frString(rleObjs)
        R = RLEs(1)
        lib.rleMerge(Rs._R, R._R, Rs.n, intersect)
        return _toString(R)[0]

    def area(rleObjs):
        Rs = _frString(rleObjs)
        a = np.zeros(Rs.n, dtype=np.uint32)
        lib.rleArea(Rs._R, Rs.n, ptr(a, ctypes.c_uint))
        return a

    def iou(dt, gt, pyiscrowd):
        def _preproc(objs):
            if len(objs) == 0:
                return objs
            if type(objs) == np.ndarray:
                if len(objs.shape) == 1:
                    objs = objs.reshape((objs[0], 1))
                if not len(objs.shape) == 2 or not objs.shape[1] == 4:
                    raise Exception("numpy ndarray input is only for *bounding boxes* and should have Nx4 dimension")
                objs = objs.astype(np.double)
            elif type(objs) == list:
                isbox = np.all(np.array([(len(obj) == 4) and ((type(obj) == list) or (type(obj) == np.ndarray))
                                         for obj in objs]))
                isrle = np.all(np.array([type(obj) == dict for obj in objs]))
                if isbox:
                    objs = np.array(objs, dtype=np.double)
                    if len(objs.shape) == 1:
                        objs = objs.reshape((1, objs.shape[0]))
                elif isrle:
                    objs = _frString(objs)
                else:
                    raise Exception("list input can be bounding box (Nx4) or RLEs ([RLE])")
            else:
                raise Exception("unrecognized type.  The following type: RLEs (rle), np.ndarray (box), and list "
                                "(box) are supported.")
            return objs

        def _len(obj):
            if type(obj) == RLEs:
                return obj.n
            if len(obj) == 0:
                return 0
            if type(obj) == np.ndarray:
                return obj.shape[0]
            return 0

        iscrowd = np.array(pyiscrowd, dtype=np.uint8)
        dt = _preproc(dt)
        gt = _preproc(gt)
        m, n = _len(dt), _len(gt)
        if m == 0 or n == 0:
            return []
        if not type(dt) == type(gt):
            raise Exception("The dt and gt should have the same data type, either RLEs, list or np.ndarray")
        o = np.zeros(m * n, dtype=np.double)
        if type(dt) == RLEs:
            lib.rleIou(dt._R, gt._R, m, n, ptr(iscrowd, ctypes.c_ubyte), ptr(o, ctypes.c_double))
        elif type(dt) == np.ndarray:
            dt, gt = np.ascontiguousarray(dt), np.ascontiguousarray(gt)
            lib.bbIou(ptr(dt, ctypes.c_double), ptr(gt, ctypes.c_double), m, n, ptr(iscrowd, ctypes.c_ubyte),
                      ptr(o, ctypes.c_double))
        else:
            raise Exception("input data type not allowed.")
        return o.reshape((m, n), order="F")

    def toBbox(rleObjs):
        Rs = _frString(rleObjs)
        bb = np.zeros(4 * Rs.n, dtype=np.double)
        lib.rleToBbox(Rs._R, ptr(bb, ctypes.c_double), Rs.n)
        return bb.reshape((Rs.n, 4))

    def frBbox(bb, h, w):
        bb = np.ascontiguousarray(bb, dtype=np.double)  # _mask.pyx: np.ndarray[np.double_t, ndim=2]
        n = bb.shape[0]
        Rs = RLEs(n)
        lib.rleFrBbox(Rs._R, ptr(bb, ctypes.c_double), h, w, n)
        return _toString(Rs)

    def frPoly(poly, h, w):
        Rs = RLEs(len(poly))
        for i, p in enumerate(poly):
            np_poly = np.array(p, dtype=np.double, order="F")
            lib.rleFrPoly(ctypes.byref(Rs._R[i]), ptr(np_poly, ctypes.c_double), int(len(p) / 2), h, w)
        return _toString(Rs)

    def frUncompressedRLE(ucRles, h, w):
        objs = []
        for obj in ucRles:
            cnts = np.array(obj["counts"], dtype=np.uint32)
            r = _RLE(obj["size"][0], obj["size"][1], len(cnts), ptr(cnts, ctypes.c_uint))
            objs.append(_string_of(r))  # cnts stays owned by numpy
        return objs

    def frPyObjects(pyobj, h, w):
        if type(pyobj) == np.ndarray:
            objs = frBbox(pyobj, h, w)
        elif type(pyobj) == list and len(pyobj[0]) == 4:
            objs = frBbox(pyobj, h, w)
        elif type(pyobj) == list and len(pyobj[0]) > 4:
            objs = frPoly(pyobj, h, w)
        elif type(pyobj) == list and type(pyobj[0]) == dict and "counts" in pyobj[0] and "size" in pyobj[0]:
            objs = frUncompressedRLE(pyobj, h, w)
        elif type(pyobj) == list and len(pyobj) == 4:
            objs = frBbox([pyobj], h, w)[0]
        elif type(pyobj) == list and len(pyobj) > 4:
            objs = frPoly([pyobj], h, w)[0]
        elif type(pyobj) == dict and "counts" in pyobj and "size" in pyobj:
            objs = frUncompressedRLE([pyobj], h, w)[0]
        else:
            raise Exception("input type is not supported.")
        return objs

    mod = types.ModuleType("pycocotools._mask")
    mod.__doc__ = "pycocotools._mask (_mask.pyx) over maskApi.c through ctypes"
    for f in (RLEs, encode, decode, merge, area, iou, toBbox, frBbox, frPoly, frUncompressedRLE, frPyObjects,
              _toString, _frString):
        setattr(mod, f.__name__, f)
    return mod


def import_pycocotools(cocoapi):
    """The real pycocotools.coco / .cocoeval / .mask from cocoapi/PythonAPI, over the ctypes _mask."""
    if importlib.util.find_spec("matplotlib") is None:  # coco.py imports it for showAnns only
        for name, attrs in (("matplotlib", {}), ("matplotlib.pyplot", {}),
                            ("matplotlib.collections", {"PatchCollection": None}),
                            ("matplotlib.patches", {"Polygon": None})):
            m = types.ModuleType(name)
            m.__dict__.update(attrs)
            sys.modules[name] = m
    if not hasattr(np, "float"):
        np.float = float  # the alias numpy 1.24 removed; cocoeval.accumulate casts with it
    sys.path.insert(0, os.path.join(cocoapi, "PythonAPI"))
    import pycocotools
    mod = build_mask_module(cocoapi)
    sys.modules["pycocotools._mask"] = mod
    pycocotools._mask = mod
    from pycocotools import coco, cocoeval, mask
    assert os.path.dirname(os.path.abspath(coco.__file__)) == os.path.join(os.path.abspath(cocoapi), "PythonAPI",
                                                                            "pycocotools")
    return coco, cocoeval, mask


# ---------------------------------------------------------------------------------------------------
# Case construction.

def shoelace(p):
    x, y = np.array(p[0::2]), np.array(p[1::2])
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def bounds(polys):
    xs = [v for p in polys for v in p[0::2]]
    ys = [v for p in polys for v in p[1::2]]
    return [min(xs), min(ys), round(max(xs) - min(xs), 2), round(max(ys) - min(ys), 2)]


def rect(x, y, w, h):
    return [x, y, x + w, y, x + w, y + h, x, y + h]


def ngon(cx, cy, r, n, phase=0.0, squash=1.0):
    t = phase + 2 * np.pi * np.arange(n) / n
    return [round(float(v), 2) for xy in zip(cx + r * np.cos(t), cy + squash * r * np.sin(t)) for v in xy]


def jitter(rng, polys, sigma, shift=(0.0, 0.0)):
    out = []
    for p in polys:
        q = np.array(p, dtype=np.float64) + rng.normal(0.0, sigma, len(p))
        q[0::2] += shift[0]
        q[1::2] += shift[1]
        out.append([round(float(v), 2) for v in q])
    return out


def column_runs(mask):
    """COCO's uncompressed counts of a [h, w] 0/1 array: column-major runs, zeros first."""
    flat = mask.flatten(order="F")
    runs, cur, n = [], 0, 0
    for v in flat:
        if v != cur:
            runs.append(n)
            cur, n = v, 0
        n += 1
    runs.append(n)
    return runs


def make_eval_case(mask_util):
    rng = np.random.default_rng(20260314)
    images = {3: (90, 120), 7: (150, 200), 12: (90, 120), 20: (150, 200)}  # id -> (height, width)
    gts = []  # dicts: image_id, category_id, iscrowd, segmentation, area, bbox (+ _polys / _runs kept for C++)

    def poly_gt(image, cat, polys):
        gts.append({"image_id": image, "category_id": cat, "iscrowd": 0, "segmentation": polys,
                    "area": round(sum(shoelace(p) for p in polys), 4), "bbox": bounds(polys)})

    poly_gt(3, 1, [[20.3, 10.2, 58.7, 14.1, 63.4, 40.8, 38.2, 52.6, 15.5, 37.9]])  # medium pentagon
    poly_gt(3, 1, [[90.2, 70.1, 101.6, 71.3, 95.4, 81.9]])                         # small triangle
    poly_gt(3, 2, [rect(5.5, 60.25, 18.0, 20.5), [30.1, 62.0, 44.9, 60.4, 47.2, 84.3, 28.8, 80.0]])  # two parts
    poly_gt(3, 1, [rect(80.0, 20.0, 32.0, 32.0)])  # area exactly 32^2
    poly_gt(7, 1, [[30.5, 20.5, 150.2, 25.3, 160.8, 110.4, 95.1, 125.6, 40.2, 118.3, 25.7, 70.2]])  # large
    # A compressed-RLE ground truth: an ellipse, encoded by the real encode.
    yy, xx = np.mgrid[0:150, 0:200]
    ellipse = (((xx - 150.3) / 22.0) ** 2 + ((yy - 118.6) / 14.5) ** 2 <= 1.0).astype(np.uint8)
    rle = mask_util.encode(np.asfortranarray(ellipse))
    gts.append({"image_id": 7, "category_id": 2, "iscrowd": 0,
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                "area": float(mask_util.area(rle)), "bbox": [float(v) for v in mask_util.toBbox(rle)]})
    # The crowd region: a block with a notch, as uncompressed RLE (how COCO stores crowds).
    crowd = np.zeros((150, 200), dtype=np.uint8)
    crowd[8:60, 120:192] = 1
    crowd[30:45, 150:165] = 0
    gts.append({"image_id": 7, "category_id": 1, "iscrowd": 1,
                "segmentation": {"size": [150, 200], "counts": column_runs(crowd)},
                "area": float(crowd.sum()), "bbox": [120.0, 8.0, 72.0, 52.0]})
    poly_gt(7, 1, [[5.2, 130.4, 17.9, 129.1, 18.6, 141.7, 6.1, 143.3]])  # small
    poly_gt(12, 2, [[10.0, 10.0, 60.0, 10.0, 60.0, 50.0, 45.0, 50.0, 45.0, 25.0, 25.0, 25.0, 25.0, 50.0,
                     10.0, 50.0]])  # concave (an arch), medium
    centres = [(70.4, 12.3), (92.1, 14.8), (108.6, 30.2), (75.5, 55.1), (97.3, 70.4), (20.2, 72.9)]
    for k, (cx, cy) in enumerate(centres):  # six small objects of category 1
        poly_gt(12, 1, [ngon(cx, cy, 4.0 + k * 0.9, 5 + k % 3, phase=0.3 * k)])

    dets = []  # dicts: image_id, category_id, score, _polys

    def det(image, cat, polys, score):
        dets.append({"image_id": image, "category_id": cat, "score": score, "_polys": polys})

    g = gts
    det(3, 1, jitter(rng, g[0]["segmentation"], 1.0), 0.92)
    det(3, 1, jitter(rng, g[0]["segmentation"], 2.5, (6.0, 4.0)), 0.55)  # a duplicate, looser
    det(3, 1, jitter(rng, g[1]["segmentation"], 0.6), 0.31)
    det(3, 2, jitter(rng, g[2]["segmentation"], 0.8), 0.77)
    det(3, 2, jitter(rng, g[2]["segmentation"][1:], 0.5), 0.81)  # only one part of the two
    det(3, 1, jitter(rng, g[3]["segmentation"], 0.7, (1.5, -1.0)), 0.64)
    det(3, 1, [rect(2.0, 2.0, 9.5, 7.25)], 0.64)  # a small false positive tied with the above
    det(3, 5, [rect(60.0, 60.0, 30.0, 25.0)], 0.45)  # category without ground truth
    det(3, 9, [rect(20.0, 10.0, 40.0, 40.0)], 0.99)  # a category not evaluated
    det(7, 1, jitter(rng, g[4]["segmentation"], 2.0), 0.88)
    det(7, 1, jitter(rng, g[4]["segmentation"], 3.0, (-8.0, 10.0)), 0.88)  # a tied duplicate
    det(7, 2, [ngon(149.8, 118.9, 21.0, 12, squash=0.68)], 0.7)
    det(7, 1, [rect(125.0, 10.0, 20.0, 15.0)], 0.93)   # inside the crowd region
    det(7, 1, [rect(170.0, 50.0, 28.0, 30.0)], 0.52)   # straddling the crowd's edge
    det(7, 1, [rect(152.0, 31.0, 12.0, 13.0)], 0.47)   # in the crowd's notch: a false positive
    det(7, 1, jitter(rng, g[7]["segmentation"], 0.5), 0.12)
    det(7, 2, [rect(-5.0, -4.0, 40.0, 35.0)], 0.66)    # reaching outside the image
    det(7, 1, [rect(100.0, 126.0, 98.5, 30.0)], 0.2)   # large false positive, partly outside
    det(12, 2, jitter(rng, g[8]["segmentation"], 0.9), 0.58)
    det(12, 2, [rect(12.0, 12.0, 46.0, 36.0)], 0.9)    # covers the arch's hole: a false positive at high IoU
    # Category 1 on image 12: 17 detections, six of them on the small objects, ranked 2nd, 6th, 10th,
    # 11th (tied with two false positives), 14th and 16th, the rest false positives scattered over the
    # image (beyond maxDets 1 and 10).
    fp_scores = [0.95, 0.9, 0.9, 0.81, 0.77, 0.7, 0.62, 0.51, 0.51, 0.33, 0.21]
    tp_scores = [0.93, 0.8, 0.6, 0.51, 0.4, 0.25]
    for k, s in enumerate(tp_scores):
        det(12, 1, jitter(rng, g[9 + k]["segmentation"], 0.4), s)
    for s in fp_scores:
        x, y = rng.uniform(0.0, 105.0), rng.uniform(0.0, 78.0)
        det(12, 1, jitter(rng, [rect(x, y, 9.0, 8.0)], 0.8), s)
    det(20, 1, [ngon(100.0, 75.0, 40.0, 7)], 0.85)     # an image without ground truth
    det(20, 1, [rect(10.0, 10.0, 6.0, 5.0)], 0.3)
    det(20, 5, [rect(150.0, 20.0, 35.0, 40.0)], 0.72)

    for d in dets:
        h, w = images[d["image_id"]]
        d["bbox"] = bounds(d["_polys"])
        d["segmentation"] = mask_util.merge(mask_util.frPyObjects(d["_polys"], h, w))
        d["segmentation"]["counts"] = d["segmentation"]["counts"].decode("ascii")
    return images, [1, 2, 5], gts, dets


def coco_ground_truth(coco, images, cats, gts):
    """A fresh pycocotools COCO holding the ground truths (COCOeval rewrites their segmentations)."""
    gt = coco.COCO()
    gt.dataset = {"images": [{"id": i, "height": h, "width": w} for i, (h, w) in images.items()],
                  "categories": [{"id": c, "name": f"c{c}"} for c in cats],
                  "annotations": [dict(copy.deepcopy(a), id=k + 1) for k, a in enumerate(gts)]}
    gt.createIndex()
    return gt


def run_cocoeval(coco, cocoeval, images, cats, gts, dets, iou_type):
    """COCOeval on a fresh ground truth and a fresh results list (loadRes adds fields in place)."""
    gt = coco_ground_truth(coco, images, cats, gts)
    keys = ("image_id", "category_id", "score", "bbox" if iou_type == "bbox" else "segmentation")
    results = [{key: copy.deepcopy(d[key]) for key in keys} for d in dets]
    dt = gt.loadRes(results)
    e = cocoeval.COCOeval(gt, dt, iou_type)
    e.evaluate()
    e.accumulate()
    e.summarize()
    assert list(e.params.catIds) == sorted(cats) and list(e.params.imgIds) == sorted(images)
    return e


def add_eval_case(out, meta, coco, cocoeval, mask_util):
    images, cats, gts, dets = make_eval_case(mask_util)
    order = sorted(images)
    out["eval/images"] = torch.tensor([[i, *images[i]] for i in order], dtype=torch.int64)
    out["eval/categories"] = torch.tensor(cats, dtype=torch.int64)
    out["eval/gt/ids"] = torch.tensor([[a["image_id"], a["category_id"], a["iscrowd"]] for a in gts])
    out["eval/gt/bbox"] = torch.tensor([a["bbox"] for a in gts], dtype=torch.float64)
    out["eval/gt/area"] = torch.tensor([a["area"] for a in gts], dtype=torch.float64)
    gt_counts = []
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_ground_truth(coco, images, cats, gts)
    for i, a in enumerate(gts):
        s = a["segmentation"]
        if type(s) == list:
            for j, p in enumerate(s):
                out[f"eval/gt/{i}/polygon/{j}"] = torch.tensor(p, dtype=torch.float64)
        elif type(s["counts"]) == list:
            out[f"eval/gt/{i}/runs"] = torch.tensor(s["counts"], dtype=torch.int64)
        # What COCOeval evaluates: COCO.annToRLE (polygons: frPyObjects + merge; uncompressed: frPyObjects).
        gt_counts.append(coco_gt.annToRLE(coco_gt.anns[i + 1])["counts"])
    meta["eval/gt_counts"] = [c.decode("ascii") if isinstance(c, bytes) else c for c in gt_counts]
    out["eval/dt/ids"] = torch.tensor([[d["image_id"], d["category_id"]] for d in dets])
    out["eval/dt/bbox"] = torch.tensor([d["bbox"] for d in dets], dtype=torch.float64)
    out["eval/dt/score"] = torch.tensor([d["score"] for d in dets], dtype=torch.float64)
    for i, d in enumerate(dets):
        for j, p in enumerate(d["_polys"]):
            out[f"eval/dt/{i}/polygon/{j}"] = torch.tensor(p, dtype=torch.float64)
    meta["eval/dt_counts"] = [d["segmentation"]["counts"] for d in dets]
    for iou_type in ("bbox", "segm"):
        with contextlib.redirect_stdout(io.StringIO()):
            e = run_cocoeval(coco, cocoeval, images, cats, gts, dets, iou_type)
        precision = e.eval["precision"]
        out[f"eval/{iou_type}/stats"] = torch.tensor(np.array(e.stats, dtype=np.float64))
        ap = []
        for k in range(len(cats)):
            pk = precision[:, :, k, 0, 2]
            ap.append(float(np.mean(pk[pk > -1])) if (pk > -1).any() else -1.0)
        out[f"eval/{iou_type}/ap_per_category"] = torch.tensor(ap, dtype=torch.float64)
        out[f"eval/{iou_type}/precision50"] = torch.tensor(np.ascontiguousarray(precision[0, :, :, 0, 2].T))
        out[f"eval/{iou_type}/precision75"] = torch.tensor(np.ascontiguousarray(precision[5, :, :, 0, 2].T))
        print(f"{iou_type}: stats " + " ".join(f"{v:.4f}" for v in e.stats))


def polygon_cases():
    rng = np.random.default_rng(37)
    walk = ngon(32.0, 24.0, 18.0, 11, phase=0.1)
    walk = [round(v + float(rng.uniform(-4.0, 4.0)), 3) for v in walk]
    return [
        # name, height, width, polygons
        ("triangle", 23, 37, [[3.3, 2.7, 30.6, 5.1, 12.2, 20.9]]),
        ("outside", 23, 37, [[-6.4, -3.2, 41.7, -1.1, 44.0, 27.5, -2.2, 25.9]]),
        ("tiny", 23, 37, [[10.1, 10.1, 10.4, 10.2, 10.2, 10.45]]),
        ("tiny_on_centre", 23, 37, [[10.2, 5.2, 10.9, 5.4, 10.4, 5.9]]),
        ("concave", 23, 37, [[2.0, 2.0, 34.0, 2.0, 34.0, 20.0, 25.5, 20.0, 18.2, 8.7, 11.0, 20.0, 2.0, 20.0]]),
        ("self_touching", 23, 37, [[2.0, 2.0, 18.5, 11.5, 2.0, 21.0, 2.0, 2.0, 35.0, 2.0, 18.5, 11.5, 35.0, 21.0,
                                    18.5, 11.5]]),
        ("bowtie", 23, 37, [[1.5, 1.5, 35.5, 21.5, 35.5, 1.5, 1.5, 21.5]]),
        ("repeated_vertex", 23, 37, [[4.2, 3.3, 25.8, 3.3, 25.8, 3.3, 20.1, 18.6, 6.7, 15.2]]),
        ("integer_and_half", 23, 37, [[0.0, 0.0, 7.5, 0.0, 7.5, 4.5, 15.0, 4.5, 15.0, 12.0, 0.0, 12.0]]),
        ("sliver", 48, 64, [[1.2, 20.1, 62.7, 21.3, 62.9, 22.2, 1.0, 21.4]]),
        ("steep_sliver", 48, 64, [[30.2, -2.0, 31.1, -2.0, 33.7, 50.5, 32.6, 50.5]]),
        ("two_overlapping", 48, 64, [rect(4.3, 5.2, 30.1, 20.4), [20.2, 15.1, 58.8, 18.7, 40.3, 44.6]]),
        ("two_disjoint", 48, 64, [rect(2.6, 3.1, 10.2, 8.8), ngon(45.0, 30.0, 12.5, 9, phase=0.2)]),
        ("many_vertices", 48, 64, [walk]),
        ("whole_image", 48, 64, [[-1.0, -1.0, 65.0, -1.0, 65.0, 49.0, -1.0, 49.0]]),
        ("collinear", 48, 64, [[5.0, 5.0, 20.0, 20.0, 35.0, 35.0]]),
    ]


def add_polygon_cases(out, meta, mask_util):
    names, counts = [], []
    for name, h, w, polys in polygon_cases():
        rle = mask_util.merge(mask_util.frPyObjects(polys, h, w))
        mask = mask_util.decode(rle)
        enc = mask_util.encode(np.asfortranarray(mask))
        assert enc["counts"] == rle["counts"], name  # merge's runs are the canonical ones
        out[f"poly/{name}/size"] = torch.tensor([h, w], dtype=torch.int64)
        for j, p in enumerate(polys):
            out[f"poly/{name}/{j}"] = torch.tensor(p, dtype=torch.float64)
        out[f"poly/{name}/mask"] = torch.tensor(np.ascontiguousarray(mask))
        names.append(name)
        counts.append(enc["counts"].decode("ascii"))
    meta["poly_cases"] = names
    meta["poly_counts"] = counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cocoapi", required=True, help="a cocoapi checkout (holds PythonAPI/ and common/)")
    args = ap.parse_args()
    coco, cocoeval, mask_util = import_pycocotools(os.path.abspath(args.cocoapi))
    out, meta = {}, {}
    add_eval_case(out, meta, coco, cocoeval, mask_util)
    add_polygon_cases(out, meta, mask_util)
    metadata = {k: json.dumps(v) for k, v in meta.items()}
    metadata["generator"] = "tools/golden/coco_eval.py"
    metadata["pycocotools"] = "cocoapi PythonAPI 2.0 (coco.py, cocoeval.py, mask.py) + common/maskApi.c"
    save_safetensors(OUT, out, metadata)
    print(f"wrote {len(out)} tensors to {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
