#!/usr/bin/python3
"""Writes tests/hostile/inputs/: the broken and hostile files of the hostile-input table
(tests/hostile/table.txt), each small and made by hand here, so that every byte that matters is
stated below. Run with Debian's interpreter (it has Pillow):

    /usr/bin/python3 tests/hostile/make_inputs.py --anima build/tools/anima

--anima draws the one real video (`anima synth --videos 1`) that the truncated video is cut from.
The files are committed; rerunning writes the same bytes (the video: the same bytes for the same
anima build).
"""
import argparse
import io
import json
import os
import struct
import subprocess
import tempfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "inputs")


def write(name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


# --- safetensors: 8-byte little-endian header length, the JSON header, the data ---------------------

def safetensors(header, data=b"", length=None):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def write_safetensors():
    write("st_empty.safetensors", b"")
    write("st_truncated_header.safetensors", safetensors(b'{"w": {"dtype"', length=1000))
    write("st_huge_header_length.safetensors", safetensors(b"{}", length=1 << 62))
    write("st_header_not_json.safetensors", safetensors(b"hello, world"))
    f32 = struct.pack("<4f", 1, 2, 3, 4)
    write("st_data_past_end.safetensors",
          safetensors({"w": {"dtype": "F32", "shape": [400], "data_offsets": [0, 1600]}}, f32))
    write("st_unknown_dtype.safetensors",
          safetensors({"w": {"dtype": "Q7", "shape": [4], "data_offsets": [0, 16]}}, f32))
    write("st_shape_mismatch.safetensors",
          safetensors({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, f32))
    write("st_huge_shape.safetensors",
          safetensors({"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 16]}}, f32))
    write("st_negative_shape.safetensors",
          safetensors({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, f32))
    # A valid file with one bit flipped in its header: the ':' after "dtype" becomes ';'.
    good = bytearray(safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, f32))
    at = good.index(b'"dtype":') + len(b'"dtype"')
    good[at] ^= 0x01
    write("st_bit_flipped.safetensors", bytes(good))


# --- .pth: a zip of archive/data.pkl (+ storages) with a hand-written pickle ------------------------

def pth(pickle_bytes, extra=(), compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in (("archive/data.pkl", pickle_bytes), ("archive/version", b"3\n")) + tuple(extra):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)
    return buf.getvalue()


PROTO2 = b"\x80\x02"
STOP = b"."


def write_pickles():
    # GLOBAL os.system, called on a string by REDUCE: what a malicious checkpoint does.
    write("pkl_global_os_system.pth",
          pth(PROTO2 + b"cos\nsystem\n" + b"X\x0a\x00\x00\x00echo pwned" + b"\x85R" + STOP))
    # LONG_BINGET of memo slot 2^32 - 1, never put.
    write("pkl_huge_memo_get.pth", pth(PROTO2 + b"j\xff\xff\xff\xff" + STOP))
    # LONG_BINPUT into memo slot 2^32 - 1 (a reader that sizes its memo by the index allocates 32 GB).
    write("pkl_huge_memo_put.pth", pth(PROTO2 + b"}r\xff\xff\xff\xff" + STOP))
    # 20000 dicts nested as {"state_dict": {"state_dict": ...}} (the wrapper a reader unwraps): the key
    # stored once in the memo, then (EMPTY_DICT, BINGET key) x N, EMPTY_DICT, SETITEM x N.
    n, key = 20000, b"X\x0a\x00\x00\x00state_dict"
    write("pkl_deep_nesting.pth",
          pth(PROTO2 + key + b"q\x01" + b"0" + (b"}h\x01") * n + b"}" + b"s" * n + STOP))
    # A dict that holds itself under "state_dict" (memo put, get, set): unwrapping it never ends.
    write("pkl_self_reference.pth", pth(PROTO2 + b"}q\x00" + key + b"h\x00s" + STOP))
    # No STOP: the pickle runs off its end.
    write("pkl_truncated.pth", pth(PROTO2 + b"}q\x00(X\x01\x00\x00\x00a"))
    # A deflated data.pkl that inflates to 64 MB of zeros (a zip bomb's entry, 64 KB here).
    write("zip_bomb.pth", pth(b"\x00" * (64 << 20), compression=zipfile.ZIP_DEFLATED))
    # A stored entry whose sizes say 2^32 - 2 bytes in a 200-byte file.
    z = bytearray(pth(PROTO2 + b"}" + STOP))
    for sig, offset in ((b"PK\x03\x04", 18), (b"PK\x01\x02", 20)):
        at = z.index(sig)
        z[at + offset:at + offset + 8] = struct.pack("<II", 0xFFFFFFFE, 0xFFFFFFFE)
    write("zip_absurd_entry_size.pth", bytes(z))
    write("text_named.pth", "this is a text file, not a checkpoint\n")


# --- images ------------------------------------------------------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, rows):
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


def write_images():
    from PIL import Image  # Debian's python3-pil

    w, h = 48, 32
    rows = [bytes((x * 5 + y * 3) % 256 for x in range(w) for _ in range(3)) for y in range(h)]
    good_png = png(w, h, rows)
    # The header claims 100000 x 100000 (30 GB of RGB); the pixel data is one row.
    write("png_huge_dimensions.png",
          b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) +
          png_chunk(b"IDAT", zlib.compress(b"\x00" * 301)) + png_chunk(b"IEND", b""))
    # 20000 x 20000: within stb_image's own limits (it would allocate 1.2 GB), beyond anima's 2^27 pixels.
    write("png_large_dimensions.png",
          b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)) +
          png_chunk(b"IDAT", zlib.compress(b"\x00" * 60001)) + png_chunk(b"IEND", b""))
    # SOI, a baseline SOF0 of 60000 x 60000 with 3 components, EOI.
    sof = struct.pack(">BHHB", 8, 60000, 60000, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    write("jpg_huge_dimensions.jpg", b"\xff\xd8\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9")
    # A BMP whose header says 100000 x 100000, 24 bits per pixel.
    info = struct.pack("<IiiHHIIiiII", 40, 100000, 100000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    write("bmp_huge_dimensions.bmp", b"BM" + struct.pack("<IHHI", 14 + 40 + 12, 0, 0, 54) + info + b"\x00" * 12)
    write("png_truncated.png", good_png[:len(good_png) // 2])
    im = Image.frombytes("RGB", (w, h), b"".join(rows))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    good_jpg = buf.getvalue()
    write("jpg_truncated.jpg", good_jpg[:len(good_jpg) * 6 // 10])
    # The first Huffman table's 16-bit code count raised to 255: 255 + more codes than the 256 a table
    # holds (stb_image 2.27 writes past its arrays).
    bad = bytearray(good_jpg)
    dht = bad.index(b"\xff\xc4")
    bad[dht + 5 + 15] = 255
    write("jpg_huffman_overflow.jpg", bytes(bad))
    # The same overflow hidden behind FF FF 00 at the start of the scan data: a fill byte and a stuffed
    # zero, so scan data to a decoder, but a reader that takes FF FF 00 for a marker reads 01 00 as a
    # 256-byte segment and skips the Huffman table after it: 45 codes of 15 bits and 255 of 16 (300).
    sos = good_jpg.index(b"\xff\xda")
    scan = sos + 2 + struct.unpack(">H", good_jpg[sos + 2:sos + 4])[0]
    table = bytes([0x10]) + bytes([0] * 14 + [45, 255]) + bytes(300)
    write("jpg_huffman_overflow_after_fill.jpg", good_jpg[:scan] + b"\xff\xff\x00\x01\x00" + b"\xff\xc4" +
          struct.pack(">H", 2 + len(table)) + table + b"\xff\xd9")
    # The IDAT chunk's length says 2^31 - 16 bytes in a file of a few hundred.
    bad = bytearray(good_png)
    idat = bad.index(b"IDAT") - 4
    bad[idat:idat + 4] = struct.pack(">I", 0x7FFFFFF0)
    write("png_chunk_claims_2gb.png", bytes(bad))
    write("text_named.jpg", "a text file with an image's name\n")
    write("empty.png", b"")


# --- videos ------------------------------------------------------------------------------------------

def write_videos(anima):
    write("empty.mp4", b"")
    write("text_named.mp4", "not a video at all\n")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([anima, "synth", "--out", tmp, "--frames", "0", "--videos", "1", "--seconds", "2",
                        "--size", "64x48", "--quiet"], check=True)
        videos = sorted(f for f in os.listdir(os.path.join(tmp, "videos")) if f.endswith(".mp4"))
        with open(os.path.join(tmp, "videos", videos[0]), "rb") as f:
            video = f.read()
    write("video_truncated.mp4", video[:len(video) // 3])


# --- annotations (VIA and COCO JSON) -----------------------------------------------------------------

def via(regions_json):
    return '{"f.png1": {"filename": "f.png", "size": 1, "regions": %s, "file_attributes": {}}}' % regions_json


def region(shape):
    return '{"shape_attributes": %s, "region_attributes": {"character": "tom"}}' % shape


def coco(images=None, annotations=None, categories=None):
    doc = {"images": [{"id": 1, "file_name": "f.png", "width": 48, "height": 32}] if images is None else images,
           "annotations": [] if annotations is None else annotations,
           "categories": [{"id": 1, "name": "tom"}] if categories is None else categories}
    return json.dumps(doc)


def write_annotations():
    write("via_regions_a_string.json", via('"not a list"'))
    write("via_no_filename.json", '{"f.png1": {"size": 1, "regions": []}}')
    write("via_one_point_polygon.json",
          via("[%s]" % region('{"name": "polygon", "all_points_x": [5], "all_points_y": [5]}')))
    write("via_negative_coordinates.json",
          via("[%s]" % region('{"name": "rect", "x": -20, "y": 4, "width": 10, "height": 10}')))
    write("via_infinite_coordinate.json",
          via("[%s]" % region('{"name": "polygon", "all_points_x": [1, 1e999, 9], "all_points_y": [1, 2, 9]}')))
    write("via_nan_coordinate.json",
          via("[%s]" % region('{"name": "polygon", "all_points_x": [1, NaN, 9], "all_points_y": [1, 2, 9]}')))
    # Compressed RLE counts whose first run is 2^62 pixels of a 32 x 48 image.
    write("coco_rle_overflow.json", coco(annotations=[
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "iscrowd": 0,
         "segmentation": {"size": [32, 48], "counts": "_" * 14 + "0"}}]))
    write("coco_unknown_category.json", coco(annotations=[
        {"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 1, 4, 4], "iscrowd": 0, "segmentation": []}]))
    write("coco_bbox_three_numbers.json", coco(annotations=[
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4], "iscrowd": 0, "segmentation": []}]))
    write("coco_no_images.json", '{"annotations": [], "categories": [{"id": 1, "name": "tom"}]}')
    write("json_truncated.json", via("[%s]" % region('{"name": "rect", "x": 2, "y": 4, "width": 10, "height": 10}'))[:60])
    write("json_deep_nesting.json", "[" * 100000 + "]" * 100000)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anima", required=True, help="the anima binary (draws the video)")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    write_safetensors()
    write_pickles()
    write_images()
    write_videos(args.anima)
    write_annotations()
    write("f.png", png(48, 32, [bytes(144)] * 32))  # the image the annotation files name
    print("wrote", len(os.listdir(OUT)), "files to", OUT)


if __name__ == "__main__":
    main()
