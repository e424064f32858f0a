#!/usr/bin/env bash
# Trains the demo models that `anima analyze` uses when it is given no --detector / --classifier, on the
# project's own synthetic cartoons, measures them on a held-out synthetic set (a seed neither training
# nor model selection saw), and
# writes weights/demo/detector.safetensors, weights/demo/classifier.safetensors and
# weights/demo/README.md (the settings, the run time and the figures reached).
#
#   bash tools/train_demo.sh [WORK_DIR]          (default WORK_DIR: build/demo_training)
#
# Steps, each skipped when its result is already in WORK_DIR (a stopped run continues):
#   1. anima synth: the still training set (seed $TRAIN_SEED, $TRAIN_FRAMES frames with their masked
#      faces), the same frames plus $TRAIN_VIDEOS videos of 10 s whose every $STILLS_EVERY-th frame is
#      decoded back and annotated (--video-stills: overlapping faces and MP4 artefacts, as analyze sees
#      them), the detector's validation sets (seed $VAL_SEED, $VAL_FRAMES frames, and with 2 videos'
#      stills: the best epoch is chosen on them) and the held-out test set (seed $TEST_SEED,
#      $TEST_FRAMES frames, faces, $TEST_VIDEOS videos with their true timelines).
#   2. anima train detector, in two stages: Mask R-CNN on a MobileNetV2 body (FPN 64, box head 256,
#      mask head 64) from scratch on the still frames, letterboxed to $SQUARE (the side analyze then
#      uses), $DET_EPOCHS epochs; then from those weights on the stills and the video stills together,
#      $DET_VIDEO_EPOCHS epochs at a lower rate. Each stage keeps its best epoch by validation mask AP.
#   3. anima train classifier, in two stages: mobilenet_v2 on the still frames' masked faces (8
#      classes), from scratch, $CLS_EPOCHS epochs at 112 x 112 (resize 128; the sizes go into the
#      weights' metadata, which classify, eval and analyze then use: a quarter of the work of 224, so
#      four times the steps); then from those weights on the faces of the stills and the video stills,
#      $CLS_VIDEO_EPOCHS epochs at a lower rate.
#   4. anima eval detector (mask AP50) and anima eval classifier (accuracy) on the held-out set; anima
#      analyze with the new models on every held-out video and anima eval analyze against its true
#      timeline (the share of faces whose character and emotion agree).
# Environment (defaults in brackets): ANIMA [build/tools/anima], TRAIN_SEED [1], TRAIN_FRAMES [600],
# TRAIN_VIDEOS [12], STILLS_EVERY [8], VAL_SEED [2], VAL_FRAMES [100], TEST_SEED [3], TEST_FRAMES [100],
# TEST_VIDEOS [4], SQUARE [512], DET_EPOCHS [8], DET_VIDEO_EPOCHS [3], CLS_EPOCHS [30],
# CLS_VIDEO_EPOCHS [15], WORKERS [2], INSTALL [1] (0: measure, but leave weights/demo as it is). The training time reported is the sum of the runs' epoch times (metrics.jsonl), so a run that
# was stopped and resumed is counted once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work="${1:-build/demo_training}"
anima="${ANIMA:-build/tools/anima}"
train_seed="${TRAIN_SEED:-1}"
train_frames="${TRAIN_FRAMES:-600}"
train_videos="${TRAIN_VIDEOS:-12}"
stills_every="${STILLS_EVERY:-8}"
val_seed="${VAL_SEED:-2}"
val_frames="${VAL_FRAMES:-100}"
test_seed="${TEST_SEED:-3}"
test_frames="${TEST_FRAMES:-100}"
test_videos="${TEST_VIDEOS:-4}"
square="${SQUARE:-512}"
det_epochs="${DET_EPOCHS:-8}"
det_video_epochs="${DET_VIDEO_EPOCHS:-3}"
cls_epochs="${CLS_EPOCHS:-30}"
cls_video_epochs="${CLS_VIDEO_EPOCHS:-15}"
workers="${WORKERS:-2}"
install="${INSTALL:-1}"

[[ -x "$anima" ]] || { echo "train_demo: no anima binary at $anima (build the target anima_cli)" >&2; exit 2; }
mkdir -p "$work"
step_start=$(date +%s)
log() { echo "train_demo: $*"; }
# mark STEP: the seconds since the previous mark go to seconds[STEP] (in this shell, not a subshell).
mark() {
  local now
  now=$(date +%s)
  seconds[$1]=$((now - step_start))
  step_start=$now
}
declare -A seconds
# json_get FILE KEY...: the value at that path of a JSON file (CMake's string(JSON): CMake builds anima,
# so it is here wherever this script can run).
printf '%s\n' 'file(READ "${FILE}" _json)' 'string(REPLACE "," ";" _keys "${KEYS}")' \
  'string(JSON _value GET "${_json}" ${_keys})' 'message("${_value}")' > "$work/json_get.cmake"
json_get() {
  local file="$1"
  shift
  local IFS=,
  cmake -DFILE="$file" -DKEYS="$*" -P "$work/json_get.cmake" 2>&1
}

# 1. Data.
if [[ ! -f "$work/train/via_region_data.json" ]]; then
  "$anima" synth --out "$work/train" --seed "$train_seed" --frames "$train_frames" --faces
fi
if [[ ! -f "$work/train_video/via_region_data.json" ]]; then
  "$anima" synth --out "$work/train_video" --seed "$train_seed" --frames "$train_frames" --faces \
    --videos "$train_videos" --seconds 10 --video-stills "$stills_every"
fi
if [[ ! -f "$work/val/via_region_data.json" ]]; then
  "$anima" synth --out "$work/val" --seed "$val_seed" --frames "$val_frames"
fi
if [[ ! -f "$work/val_video/via_region_data.json" ]]; then
  "$anima" synth --out "$work/val_video" --seed "$val_seed" --frames "$val_frames" --videos 2 --seconds 10 \
    --video-stills "$stills_every"
fi
if [[ ! -f "$work/test/via_region_data.json" ]]; then
  "$anima" synth --out "$work/test" --seed "$test_seed" --frames "$test_frames" --faces --videos "$test_videos"
fi
mark data

# 2. Detector.
if [[ ! -f "$work/detector/weights.safetensors" ]]; then
  if [[ -f "$work/detector/config.json" ]]; then
    "$anima" train detector --resume "$work/detector"
  else
    "$anima" train detector --backbone mobilenet_v2 --fpn-channels 64 --box-head 256 --mask-head 64 \
      --data "$work/train/via_region_data.json" --images "$work/train/frames" --classes 2 \
      --val "$work/val/via_region_data.json" --val-images "$work/val/frames" --square "$square" \
      --epochs "$det_epochs" --batch 4 --lr 0.02 --warmup-steps 100 --schedule cosine \
      --rois-per-image 128 --anchors-per-image 256 --workers "$workers" --seed 1 --out "$work/detector"
  fi
fi
if [[ ! -f "$work/detector_video/weights.safetensors" ]]; then
  if [[ -f "$work/detector_video/config.json" ]]; then
    "$anima" train detector --resume "$work/detector_video"
  else
    "$anima" train detector --weights "$work/detector/weights.safetensors" --trainable-layers 6 \
      --data "$work/train_video/via_region_data.json" --images "$work/train_video/frames" --classes 2 \
      --val "$work/val_video/via_region_data.json" --val-images "$work/val_video/frames" --square "$square" \
      --epochs "$det_video_epochs" --batch 4 --lr 0.01 --warmup-steps 50 --schedule cosine \
      --rois-per-image 128 --anchors-per-image 256 --workers "$workers" --seed 1 --out "$work/detector_video"
  fi
fi
mark detector

# 3. Classifier.
if [[ ! -f "$work/classifier/weights.safetensors" ]]; then
  if [[ -f "$work/classifier/config.json" ]]; then
    "$anima" train classifier --resume "$work/classifier"
  else
    "$anima" train classifier --net mobilenet_v2 --data "$work/train/faces" --classes 8 --epochs "$cls_epochs" \
      --batch 32 --optimizer sgd --lr 0.05 --schedule cosine --warmup-steps 40 --image-size 112 --resize 128 \
      --workers "$workers" --seed 1 \
      --out "$work/classifier"
  fi
fi
if [[ ! -f "$work/classifier_video/weights.safetensors" ]]; then
  if [[ -f "$work/classifier_video/config.json" ]]; then
    "$anima" train classifier --resume "$work/classifier_video"
  else
    "$anima" train classifier --net mobilenet_v2 --weights "$work/classifier/weights.safetensors" \
      --data "$work/train_video/faces" --classes 8 --epochs "$cls_video_epochs" --batch 32 --optimizer sgd \
      --lr 0.01 --schedule cosine --warmup-steps 20 --image-size 112 --resize 128 --workers "$workers" --seed 1 \
      --out "$work/classifier_video"
  fi
fi
mark classifier

# 4. Held-out measurements of the final models.
detector="$work/detector_video/weights.safetensors"
classifier="$work/classifier_video/weights.safetensors"
"$anima" eval detector --weights "$detector" --data "$work/test/via_region_data.json" \
  --images "$work/test/frames" --out "$work/eval_detector" > /dev/null
mask_ap50=$(printf '%.3f' "$(json_get "$work/eval_detector/metrics.json" segm AP50)")
box_ap50=$(printf '%.3f' "$(json_get "$work/eval_detector/metrics.json" bbox AP50)")
"$anima" eval classifier --net mobilenet_v2 --weights "$classifier" \
  --data "$work/test/faces" --split train --out "$work/eval_classifier" > /dev/null
accuracy=$(printf '%.3f' "$(json_get "$work/eval_classifier/metrics.json" accuracy)")
faces=0
agreed=0
for video in "$work"/test/videos/*.mp4; do
  name=$(basename "$video" .mp4)
  "$anima" analyze "$video" --detector "$detector" --classifier "$classifier" --out "$work/analyze/$name" --no-video --quiet
  "$anima" eval analyze --truth "${video%.mp4}.timeline.json" --pred "$work/analyze/$name" --json \
    > "$work/analyze/$name/agreement.json"
  faces=$((faces + $(json_get "$work/analyze/$name/agreement.json" faces)))
  agreed=$((agreed + $(json_get "$work/analyze/$name/agreement.json" agreed)))
done
agreement=$(awk -v a="$agreed" -v f="$faces" 'BEGIN { printf "%.3f", (f > 0) ? a / f : 0 }')
mark measure
# Training time: the runs' epoch times.
epoch_seconds() { awk -F'"seconds":' '/"type":"epoch"/ { split($2, v, /[,}]/); s += v[1] } END { printf "%d", s }' "$1"; }
seconds[detector]=$(($(epoch_seconds "$work/detector/metrics.jsonl") + $(epoch_seconds "$work/detector_video/metrics.jsonl")))
seconds[classifier]=$(($(epoch_seconds "$work/classifier/metrics.jsonl") + $(epoch_seconds "$work/classifier_video/metrics.jsonl")))
total=$((seconds[data] + seconds[detector] + seconds[classifier] + seconds[measure]))

log "held-out detector mask AP50 $mask_ap50 (box AP50 $box_ap50), classifier accuracy $accuracy," \
  "analyze agreement $agreement ($agreed of $faces faces); detector ${seconds[detector]} s, classifier" \
  "${seconds[classifier]} s of training"

if [[ "$install" == 1 ]]; then
  mkdir -p weights/demo
  cp "$detector" weights/demo/detector.safetensors.tmp
  mv weights/demo/detector.safetensors.tmp weights/demo/detector.safetensors
  cp "$classifier" weights/demo/classifier.safetensors.tmp
  mv weights/demo/classifier.safetensors.tmp weights/demo/classifier.safetensors
  cat > weights/demo/README.md.tmp <<EOF
# weights/demo — the models \`anima analyze\` uses by default

Trained by \`bash tools/train_demo.sh\` on the project's synthetic cartoons alone (no ImageNet or COCO
weights), on $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')).

| file | model | trained on | settings |
|---|---|---|---|
| detector.safetensors | Mask R-CNN, MobileNetV2 body + FPN 64, box head 256, mask head 64, 3 classes (background, jerry, tom) | $train_frames frames of seed $train_seed, 640x360, letterboxed to $square; then those and $((train_videos * 240 / stills_every)) stills of $train_videos videos | $det_epochs epochs, batch 4, SGD lr 0.02 cosine, from scratch, then $det_video_epochs epochs at lr 0.01 cosine; each stage's best epoch on $val_frames frames of seed $val_seed (and 2 videos' stills) |
| classifier.safetensors | mobilenet_v2, 8 classes (emotion_character), 112 x 112 | the masked faces of those frames | $cls_epochs epochs, batch 32, SGD lr 0.05 cosine, from scratch, then $cls_video_epochs epochs at lr 0.01 cosine with the video stills' faces |

Held out (seed $test_seed: $test_frames frames and $test_videos videos that neither training nor the
choice of epoch saw):

| measure | value | target |
|---|---|---|
| detector mask AP50 (\`anima eval detector\`) | $mask_ap50 | >= 0.90 |
| detector box AP50 | $box_ap50 | |
| classifier accuracy (\`anima eval classifier\`) | $accuracy | >= 0.90 |
| \`anima analyze\` agreeing with the true timeline (\`anima eval analyze\`) | $agreement ($agreed of $faces faces) | >= 0.85 |

Run time: $total s in all (data ${seconds[data]} s, detector training ${seconds[detector]} s,
classifier training ${seconds[classifier]} s, measurements ${seconds[measure]} s).
EOF
  mv weights/demo/README.md.tmp weights/demo/README.md
  log "wrote weights/demo/{detector,classifier}.safetensors and weights/demo/README.md"
fi
