# tests/synth/cli_train_detector.cmake — runs the real `anima train detector` binary (ctest
# cli_train_detector*) on six synthetic 192x128 frames that `anima synth` draws into DIR (the last two
# held out for validation), Mask R-CNN from its random initialisation at 128 px, 64 RoIs and 64
# anchors per image, 2 epochs of 2 steps.
#   cmake -DANIMA=<anima> -DDIR=<work dir> -DMODE=json|kill_and_resume|light -P cli_train_detector.cmake
# json: from the COCO file (given as --data, told from VIA by its content): config.json, metrics.jsonl
#       (4 step lines, 2 epoch lines with the five loss terms and val_mask_ap in [-1, 1]), the
#       checkpoints, weights.safetensors, report.html with loss.png, ap.png and lr.png; then `anima
#       detect` reads the weights (class names "jerry"/"tom" from their metadata) and `anima eval
#       detector` evaluates them on the VIA file (--data too); both reports render in headless Chromium
#       when it is installed.
# kill_and_resume: from the VIA file, a run ended by SIGKILL after step 3 and resumed (with 1 data-loader
#       worker instead of 2) ends with checkpoint_last.safetensors and weights.safetensors equal byte for
#       byte to an uninterrupted run's, and metrics.jsonl with the same 6 lines.
# light: the light detector (--backbone mobilenet_v2, FPN 32, box head 64, mask head 32, square 128, all
#       six body stages training, BatchNorm2d statistics in the checkpoints): config.json records the
#       architecture, weights.safetensors says "square" 128 in its metadata, `anima detect` rebuilds the
#       model from the weights alone (no architecture option), and a run killed after step 3 and resumed
#       ends with the same bytes as an uninterrupted one.
cmake_policy(SET CMP0054 NEW)  # "val_mask_ap" in if() is a string, not the variable of that name
include("${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake")
set(_synth "${DIR}/synth_${MODE}")
file(REMOVE_RECURSE "${_synth}")
expect_success(_stdout synth --out "${_synth}" --frames 6 --size 192x128 --seed 3 --quiet)
set(_base train detector --images "${_synth}/frames" --epochs 2 --batch 2 --rois-per-image 64
          --anchors-per-image 64 --warmup-steps 2 --lr 0.01 --val-fraction 0.3 --seed 7 --quiet)
set(_common ${_base} --min-size 128 --max-size 192 --trainable-layers 1)

function(run_whole out annotations)
  file(REMOVE_RECURSE "${out}")
  expect_success(_stdout ${_common} ${annotations} ${ARGN} --workers 2 --out "${out}")
  expect_files("${out}" "anima train detector" config.json metrics.jsonl checkpoint_last.safetensors
               checkpoint_best.safetensors weights.safetensors report.html)
  count_lines("${out}/metrics.jsonl" _n)
  if(NOT _n EQUAL 6)
    message(FATAL_ERROR "metrics.jsonl has ${_n} lines, expected 4 steps + 2 epochs")
  endif()
endfunction()

if(MODE STREQUAL "json")
  set(_run "${DIR}/run_coco")
  run_whole("${_run}" "--data;${_synth}/coco_instances.json;--classes;2")
  foreach(_png loss ap lr)
    expect_png("${_run}/${_png}.png" "anima train detector")
  endforeach()
  file(STRINGS "${_run}/metrics.jsonl" _epochs REGEX "\"type\":\"epoch\"")
  foreach(_line IN LISTS _epochs)
    json_fields("${_line}" "" train_loss train_loss_objectness train_loss_rpn_box_reg train_loss_classifier
                train_loss_box_reg train_loss_mask val_mask_ap val_box_ap)
    if(val_mask_ap LESS -1 OR val_mask_ap GREATER 1 OR NOT train_loss GREATER 0)
      message(FATAL_ERROR "epoch line out of range: ${_line}")
    endif()
  endforeach()
  file(READ "${_run}/config.json" _config)
  json_fields("${_config}" "" task best_metric)
  string(JSON _classes GET "${_config}" classes)
  if(NOT task STREQUAL "detector" OR NOT best_metric STREQUAL "val_mask_ap" OR NOT _classes MATCHES "\"tom\""
     OR NOT _classes MATCHES "\"jerry\"")
    message(FATAL_ERROR "config.json: task '${task}', best metric '${best_metric}', classes ${_classes}")
  endif()
  file(READ "${_run}/report.html" _html)
  if(NOT _html MATCHES "val_mask_ap" OR NOT _html MATCHES "train_loss_mask")
    message(FATAL_ERROR "report.html has no val_mask_ap / train_loss_mask column")
  endif()
  expect_success(_json detect --weights "${_run}/weights.safetensors" --min-size 128 --max-size 192 --score 0
                 --json "${_synth}/frames/frame_000000.jpg")
  string(JSON _d LENGTH "${_json}" 0 detections)
  if(_d GREATER 0)
    string(JSON _label GET "${_json}" 0 detections 0 label)
    if(NOT _label STREQUAL "jerry" AND NOT _label STREQUAL "tom")
      message(FATAL_ERROR "detect on the trained weights: label '${_label}', expected jerry or tom")
    endif()
  endif()
  expect_success(_eval eval detector --weights "${_run}/weights.safetensors" --data "${_synth}/via_region_data.json"
                 --images "${_synth}/frames" --min-size 128 --max-size 192 --out "${_run}/eval")
  file(READ "${_run}/eval/metrics.json" _metrics)
  json_fields("${_metrics}" "" images objects)
  if(NOT images EQUAL 6 OR objects LESS 1)
    message(FATAL_ERROR "eval detector of the trained weights: ${images} images, ${objects} objects")
  endif()
  expect_renders_in_browser("${_run}/report.html" "anima train detector")
  expect_renders_in_browser("${_run}/eval/report.html" "anima eval detector")
  message(STATUS "trained and evaluated a detector: ${_d} detections on frame 0")
elseif(MODE STREQUAL "kill_and_resume")
  set(_annotations "--via;${_synth}/via_region_data.json")
  run_whole("${DIR}/whole" "${_annotations}")
  expect_same_after_kill(detector "${DIR}/whole" "${DIR}/killed" 3 6 ${_common} ${_annotations} --workers 1)
elseif(MODE STREQUAL "light")
  set(_annotations "--via;${_synth}/via_region_data.json")
  # The shared settings but square mode and the backbone's default trainable layers (all six stages).
  set(_common ${_base} --backbone mobilenet_v2 --fpn-channels 32 --box-head 64 --mask-head 32 --square 128)
  run_whole("${DIR}/whole" "${_annotations}")
  file(READ "${DIR}/whole/config.json" _config)
  string(JSON _backbone GET "${_config}" settings backbone)
  string(JSON _fpn GET "${_config}" settings fpn_channels)
  if(NOT _backbone STREQUAL "mobilenet_v2" OR NOT _fpn EQUAL 32)
    message(FATAL_ERROR "config.json: backbone '${_backbone}', fpn_channels '${_fpn}'")
  endif()
  file(READ "${DIR}/whole/weights.safetensors" _header OFFSET 8 LIMIT 400000)  # past the header length
  if(NOT _header MATCHES "\"square\":\"128\"" OR NOT _header MATCHES "backbone[.]body[.]18[.]1[.]running_var")
    message(FATAL_ERROR "weights.safetensors: no \"square\":\"128\" metadata or no MobileNetV2 body")
  endif()
  expect_success(_json detect --weights "${DIR}/whole/weights.safetensors" --square 128 --score 0 --json
                 "${_synth}/frames/frame_000000.jpg")
  string(JSON _d LENGTH "${_json}" 0 detections)
  # Without --square, detect and eval detector run at the side the weights were trained at.
  expect_success(_json_default detect --weights "${DIR}/whole/weights.safetensors" --score 0 --json
                 "${_synth}/frames/frame_000000.jpg")
  if(NOT _json_default STREQUAL _json)
    message(FATAL_ERROR "detect without --square differs from --square 128:\n${_json_default}\n${_json}")
  endif()
  expect_success(_eval eval detector --weights "${DIR}/whole/weights.safetensors" ${_annotations}
                 --images "${_synth}/frames" --out "${DIR}/eval")
  file(READ "${DIR}/eval/metrics.json" _metrics)
  string(JSON _side GET "${_metrics}" resize square)
  if(NOT _side EQUAL 128)
    message(FATAL_ERROR "eval detector without --square ran at '${_side}', not the trained 128")
  endif()
  # weights convert keeps the metadata that the commands read (labels, square).
  expect_success(_converted weights convert "${DIR}/whole/weights.safetensors" "${DIR}/converted.safetensors")
  file(READ "${DIR}/converted.safetensors" _header OFFSET 8 LIMIT 400000)
  if(NOT _header MATCHES "\"square\":\"128\"" OR NOT _header MATCHES "\"labels\"" OR
     NOT _header MATCHES "\"converted_by\"")
    message(FATAL_ERROR "weights convert dropped the metadata (square, labels)")
  endif()
  expect_same_after_kill(detector "${DIR}/whole" "${DIR}/killed" 3 6 ${_common} ${_annotations} --workers 1)
  message(STATUS "trained the light detector; detect found ${_d} candidates on frame 0")
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
