#!/usr/bin/python3
"""Golden fixture for anima::data::ImageFolder: the classes and the sample order torchvision 0.14's
ImageFolder (datasets.folder.find_classes + make_dataset with IMG_EXTENSIONS) gives for a folder tree
with awkward names (upper-case and doubled extensions, hidden files, nested and sibling folders
whose names sort around '/', numbers, UTF-8, a folder named like an image, files beside the classes).

Run with Debian's interpreter:
  /usr/bin/python3 tools/golden/image_folder.py   # writes tests/golden/data/image_folder.json
The JSON holds the tree ("files": paths relative to the root, '/'-separated) and torchvision's
answer ("classes"; "samples": [relative path, class index] in dataset order). The C++ test rebuilds
the tree and compares.
"""
import json
import os
import tempfile

from torchvision.datasets import folder

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "data",
                   "image_folder.json")

FILES = [
    "root.png",                       # beside the classes: not a sample
    "happy/b.PNG", "happy/a.jpeg", "happy/c.txt", "happy/z.webp", "happy/10.png", "happy/9.png",
    "happy/1.png", "happy/.hidden.png", "happy/noext", "happy/x.png.bak", "happy/y.tar.jpg",
    "happy/sub/x.png", "happy/sub-2/y.png", "happy/sub/deeper/w.jpg", "happy/sub0/v.bmp",
    "Sad/\u00e9motion.png", "Sad/emotion.png", "Sad/Emotion.TIFF", "Sad/e.pgm", "Sad/e.ppm", "Sad/e.tif",
    "angry/only.jpg", "angry/dir.png/inside.png",
    "surprise 2/s.png", "_neutral/n.png",
]


def main():
    with tempfile.TemporaryDirectory() as root:
        for rel in FILES:
            path = os.path.join(root, *rel.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(b"x")
        classes, class_to_idx = folder.find_classes(root)
        samples = folder.make_dataset(root, class_to_idx, folder.IMG_EXTENSIONS)
        rel = [[os.path.relpath(p, root).replace(os.sep, "/"), i] for p, i in samples]
    out = {"generator": "tools/golden/image_folder.py", "extensions": list(folder.IMG_EXTENSIONS),
           "files": FILES, "classes": classes, "samples": rel}
    tmp = OUT + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"{len(classes)} classes, {len(rel)} samples -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
