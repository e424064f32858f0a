#!/usr/bin/env bash
# The protocol of Jain et al. (2021) as one command: the four classifiers fine-tuned on faces cut three
# ways, evaluated, and compared in one table.
#
#   bash tools/paper_protocol.sh DATA_DIR OUT
#
# DATA_DIR holds annotated frames: via_region_data.json (or coco_instances.json) and the images in
# frames/ (what `anima synth --out DATA_DIR` writes) or beside the annotations. For every cut
#   mask    the face's box times its mask (the paper's method)
#   box     the box alone
#   frame   the whole frame (the paper's Table 3 ablation)
# `anima crops` writes OUT/data_<cut> (the same train/val/test split of the regions for every cut), and
# for every net in NETS, `anima train classifier` fine-tunes it as the paper does: a new 8-class head
# on ImageNet weights, first with the backbone frozen (EPOCHS_FROZEN epochs), then all of it (EPOCHS
# epochs, starting from the first phase's weights); without ImageNet weights the net starts from
# torchvision's random initialisation and the frozen phase is skipped. `anima eval classifier` then
# measures it on the test split, and `anima eval compare` writes OUT/comparison.md and
# OUT/comparison.html: per run accuracy, weighted and micro averages, per-class precision, recall
# and F1.
#
# Environment (defaults in brackets):
#   ANIMA            the anima binary [build/tools/anima]
#   NETS             [vgg16 resnet50 mobilenet_v2 inception_v3]
#   CUTS             [mask box frame]
#   IMAGENET_DIR     torchvision's ImageNet checkpoints (vgg16-397923af.pth, resnet50-0676ba61.pth,
#                    mobilenet_v2-b0353104.pth, inception_v3_google-0cc3c7bd.pth) [none]
#   EPOCHS_FROZEN [3]  EPOCHS [10]  BATCH [32]  LR [0.01]  WORKERS [2]
#   IMAGE_SIZE       the training crop [224; inception_v3 299]
#   CROP_SIZE        the side `anima crops` cuts [256; inception_v3 needs >= 299 + margin: 342]
#   SPLIT            train,val,test percentages of the regions [70,15,15]
# Every step's output stays in OUT (crops, runs/<net>_<cut>/{frozen,tuned}, eval/<net>_<cut>); a step
# whose result is already there is skipped, so a stopped protocol continues where it was.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: bash tools/paper_protocol.sh DATA_DIR OUT" >&2
  exit 2
fi
data="$1"
out="$2"
anima="${ANIMA:-build/tools/anima}"
nets=(${NETS:-vgg16 resnet50 mobilenet_v2 inception_v3})
cuts=(${CUTS:-mask box frame})
epochs_frozen="${EPOCHS_FROZEN:-3}"
epochs="${EPOCHS:-10}"
batch="${BATCH:-32}"
lr="${LR:-0.01}"
workers="${WORKERS:-2}"

annotations="$data/via_region_data.json"
[[ -f "$annotations" ]] || annotations="$data/coco_instances.json"
[[ -f "$annotations" ]] || { echo "paper_protocol: no via_region_data.json or coco_instances.json in $data" >&2; exit 2; }
images="$data/frames"
[[ -d "$images" ]] || images="$data"
mkdir -p "$out"

imagenet_file() {  # the ImageNet checkpoint of net $1, or nothing
  local name
  case "$1" in
    vgg16) name=vgg16-397923af.pth ;;
    resnet50) name=resnet50-0676ba61.pth ;;
    mobilenet_v2) name=mobilenet_v2-b0353104.pth ;;
    inception_v3) name=inception_v3_google-0cc3c7bd.pth ;;
    *) name="" ;;
  esac
  if [[ -n "${IMAGENET_DIR:-}" && -n "$name" && -f "$IMAGENET_DIR/$name" ]]; then echo "$IMAGENET_DIR/$name"; fi
}

needs_big_crops=0
for net in "${nets[@]}"; do [[ "$net" == inception_v3 ]] && needs_big_crops=1; done
crop_size="${CROP_SIZE:-$([[ $needs_big_crops == 1 ]] && echo 342 || echo 256)}"

for cut in "${cuts[@]}"; do
  if [[ ! -f "$out/data_$cut/crops.csv" ]]; then
    "$anima" crops --data "$annotations" --images "$images" --out "$out/data_$cut" --cut "$cut" \
      --size "$crop_size" --split "${SPLIT:-70,15,15}" --quiet
  fi
done

compare=()
for net in "${nets[@]}"; do
  size="${IMAGE_SIZE:-$([[ "$net" == inception_v3 ]] && echo 299 || echo 224)}"
  resize=$([[ "$size" == 299 ]] && echo 342 || echo $((size * 8 / 7)))  # torchvision's 256 / 224 and 342 / 299
  imagenet="$(imagenet_file "$net")"
  for cut in "${cuts[@]}"; do
    run="$out/runs/${net}_$cut"
    common=(--net "$net" --data "$out/data_$cut" --batch "$batch" --lr "$lr" --workers "$workers"
            --image-size "$size" --resize "$resize" --quiet)
    start_weights=()
    if [[ -n "$imagenet" ]]; then
      if [[ ! -f "$run/frozen/weights.safetensors" ]]; then
        echo "== $net, $cut: the new head on the frozen ImageNet backbone ($epochs_frozen epochs)"
        "$anima" train classifier "${common[@]}" --weights "$imagenet" --freeze-backbone --epochs "$epochs_frozen" \
          --out "$run/frozen"
      fi
      start_weights=(--weights "$run/frozen/weights.safetensors")
    fi
    if [[ ! -f "$run/tuned/weights.safetensors" ]]; then
      echo "== $net, $cut: all layers ($epochs epochs)"
      "$anima" train classifier "${common[@]}" "${start_weights[@]}" --epochs "$epochs" --out "$run/tuned"
    fi
    if [[ ! -f "$out/eval/${net}_$cut/metrics.json" ]]; then
      "$anima" eval classifier --net "$net" --weights "$run/tuned/weights.safetensors" --data "$out/data_$cut" \
        --split test --resize "$resize" --crop "$size" --out "$out/eval/${net}_$cut" --quiet >/dev/null
    fi
    compare+=("$net/$cut=$out/eval/${net}_$cut/metrics.json")
  done
done

"$anima" eval compare --out "$out" "${compare[@]}"
echo "paper_protocol: $out/comparison.md and $out/comparison.html"
