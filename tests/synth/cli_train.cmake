# tests/synth/cli_train.cmake — runs the real `anima train classifier` binary (ctest cli_train*), on the
# data TrainCli.WritesFixture (tests/synth/train_test.cpp) leaves in DIR.
#   cmake -DANIMA=<anima> -DDIR=<fixture dir> -DMODE=json|kill_and_resume|kill_ten_times|synth|unreadable|inception -P cli_train.cmake
# json: a 2-epoch run of a MobileNetV2 on 32x32 crops (colour jitter on) writes config.json (with the
#       source commit), metrics.jsonl (6 step lines and 2 epoch lines), the checkpoints,
#       weights.safetensors and the report with its pictures;
#       `anima eval classifier` then reads the weights and writes metrics.json and report.html; the
#       training report renders in headless Chromium when it is installed.
# kill_and_resume: the same run ended by SIGKILL after step 5 (--kill-after-steps), then --resume (the
#       second run with 1 data-loader worker instead of 2: the bits do not depend on it):
#       checkpoint_last.safetensors and weights.safetensors equal the uninterrupted run's byte for
#       byte, and metrics.jsonl has the same 8 lines.
# kill_ten_times: the same run killed ten times in a row with SIGKILL at chosen writev calls (strace;
#       skipped without it), each time resumed with --resume (started again with --out when no
#       checkpoint had been written yet); after every kill checkpoint_last.safetensors is absent or
#       whole (`anima weights inspect` reads it) and every metrics.jsonl line is JSON; every kill must
#       land inside a file write (a new temporary file left behind); after the last one
#       the run is finished with --resume: its checkpoints and weights must equal the uninterrupted
#       run's byte for byte, its report be there, and no temporary file be left in the folder.
# synth: `anima synth --faces` draws 200 frames; a 3-epoch MobileNetV2 run on its faces/ (8 classes) and
#       `anima eval classifier` on its test split: metrics.json (split, sample count, accuracy, 8 classes),
#       the report and its pictures.
# unreadable: a text file named broken.png among the training images stops a run with an error naming
#       it; with --skip-unreadable the run finishes and each epoch line counts "skipped": 1.
# inception: one epoch of inception_v3 at 299x299 (its auxiliary classifier in the loss, which needs
#       that size) writes its 2 step lines and its epoch line.
include("${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake")
set(_train train classifier --net mobilenet_v2 --data "${DIR}/data" --epochs 2 --batch 4 --image-size 32
           --resize 36 --seed 5 --checkpoint-every 2 --lr 0.05 --color-jitter 0.4,0.4,0.4,0.1 --quiet)

function(run_whole out)
  file(REMOVE_RECURSE "${out}")
  expect_success(_stdout ${_train} --workers 2 --out "${out}")
  expect_files("${out}" "anima train" config.json metrics.jsonl checkpoint_last.safetensors
               checkpoint_best.safetensors weights.safetensors report.html)
  foreach(_png loss accuracy lr)
    expect_png("${out}/${_png}.png" "anima train")
  endforeach()
endfunction()

if(MODE STREQUAL "json")
  run_whole("${DIR}/run")
  count_lines("${DIR}/run/metrics.jsonl" _n)
  if(NOT _n EQUAL 8)
    message(FATAL_ERROR "metrics.jsonl has ${_n} lines, expected 6 steps + 2 epochs")
  endif()
  file(READ "${DIR}/run/config.json" _config)
  json_fields("${_config}" "settings" net epochs)
  json_fields("${_config}" "" source_commit)
  if(source_commit STREQUAL "")
    message(FATAL_ERROR "config.json has no source_commit")
  endif()
  string(JSON _last_class GET "${_config}" classes 2)  # the class folders in sorted order
  if(NOT net STREQUAL "mobilenet_v2" OR NOT epochs EQUAL 2 OR NOT _last_class STREQUAL "sad")
    message(FATAL_ERROR "config.json: net '${net}', ${epochs} epochs, third class '${_last_class}'")
  endif()
  # The weights say the sizes they were trained at (eval, classify and analyze default to them).
  file(READ "${DIR}/run/weights.safetensors" _header OFFSET 8 LIMIT 4000)  # past the header length
  if(NOT _header MATCHES "\"image_size\":\"32\"" OR NOT _header MATCHES "\"resize\":\"36\"")
    message(FATAL_ERROR "weights.safetensors: no image_size 32 / resize 36 metadata")
  endif()
  expect_success(_eval eval classifier --net mobilenet_v2 --weights "${DIR}/run/weights.safetensors"
                 --data "${DIR}/data" --split val --out "${DIR}/run/eval" --quiet)
  file(READ "${DIR}/run/eval/metrics.json" _metrics)
  json_fields("${_metrics}" "" samples accuracy)
  if(NOT samples EQUAL 6 OR accuracy LESS 0 OR accuracy GREATER 1)
    message(FATAL_ERROR "eval of the trained weights: ${samples} samples, accuracy ${accuracy}")
  endif()
  expect_files("${DIR}/run/eval" "anima eval" report.html)
  expect_renders_in_browser("${DIR}/run/report.html" "anima train")
  message(STATUS "trained and evaluated: val accuracy ${accuracy}")
elseif(MODE STREQUAL "synth")
  # The application's own data: faces cut from `anima synth` frames (8 classes in train/, val/, test/).
  set(_synth "${DIR}/synth_faces")
  set(_run "${DIR}/run_synth")
  file(REMOVE_RECURSE "${_synth}" "${_run}")
  expect_success(_stdout synth --out "${_synth}" --frames 200 --size 256x144 --seed 11 --faces --quiet)
  expect_success(_stdout train classifier --net mobilenet_v2 --data "${_synth}/faces" --epochs 3 --batch 16
                 --image-size 32 --resize 36 --lr 0.05 --seed 2 --quiet --out "${_run}")
  expect_files("${_run}" "anima train" config.json metrics.jsonl weights.safetensors report.html accuracy.png)
  file(READ "${_run}/config.json" _config)
  string(JSON _classes LENGTH "${_config}" classes)
  file(STRINGS "${_run}/metrics.jsonl" _epochs REGEX "\"type\":\"epoch\"")
  list(LENGTH _epochs _n_epochs)
  if(NOT _classes EQUAL 8 OR NOT _n_epochs EQUAL 3)
    message(FATAL_ERROR "training on the synth faces: ${_classes} classes, ${_n_epochs} epoch lines (expected 8, 3)")
  endif()
  expect_success(_eval eval classifier --net mobilenet_v2 --weights "${_run}/weights.safetensors"
                 --data "${_synth}/faces" --resize 36 --crop 32 --out "${_run}/eval" --quiet)
  file(GLOB_RECURSE _test_images "${_synth}/faces/test/*.jpg")
  list(LENGTH _test_images _n_test)
  file(READ "${_run}/eval/metrics.json" _metrics)
  json_fields("${_metrics}" "" split samples accuracy)
  string(JSON _per_class LENGTH "${_metrics}" per_class)
  if(NOT split MATCHES "/test$" OR NOT samples EQUAL _n_test OR accuracy LESS 0 OR accuracy GREATER 1
     OR NOT _per_class EQUAL 8)
    message(FATAL_ERROR "eval on the synth test split: split '${split}', ${samples} samples (${_n_test} files), "
                        "accuracy ${accuracy}, ${_per_class} classes")
  endif()
  expect_files("${_run}/eval" "anima eval" report.html confusion_matrix.png roc.png precision_recall.png)
  message(STATUS "trained on ${_classes} synth classes and evaluated on ${samples} test faces: accuracy ${accuracy}")
elseif(MODE STREQUAL "kill_and_resume")
  run_whole("${DIR}/whole")
  expect_same_after_kill(classifier "${DIR}/whole" "${DIR}/killed" 5 8 ${_train} --workers 1)
elseif(MODE STREQUAL "kill_ten_times")
  skip_without_strace()
  run_whole("${DIR}/whole_10")
  set(_run "${DIR}/killed_10")
  file(REMOVE_RECURSE "${_run}")
  # The n-th writev of each run: anima's files are written with writev, and counting writev alone
  # keeps other writes out of the count (a sanitizer runtime's into pipes, the metrics lines). A whole
  # run makes 1584: 239 per checkpoint (18 MB), 142 for the weights, 4 for the report; checkpoints
  # after steps 2, 3 (the epoch's end: best, weights, last), 4, 6 and 6 (the epoch's end). A resumed
  # run starts from its checkpoint, so these kill runs that have done 2, 3, 3, 3, 4, 4, 6, 6, 6 and 6
  # steps, inside checkpoint_last, checkpoint_best and the weights. A kill counts as inside a write
  # when it leaves a temporary file that was not there before its run (a resumed run removes the
  # previous run's).
  set(_mid_write 0)
  foreach(_n 150 300 330 500 700 90 300 260 10 200)
    file(GLOB _before RELATIVE "${_run}" "${_run}/.*.tmp-*")
    if(EXISTS "${_run}/checkpoint_last.safetensors")
      run_killed_at(_rc writev ${_n} train classifier --resume "${_run}" --quiet)
    else()
      file(REMOVE_RECURSE "${_run}")
      set(_before "")
      run_killed_at(_rc writev ${_n} ${_train} --workers 1 --out "${_run}")
    endif()
    if(NOT _rc MATCHES "${killed_rc_regex}")
      message(FATAL_ERROR "the run to be killed at writev ${_n} ended with ${_rc} instead")
    endif()
    file(GLOB _left RELATIVE "${_run}" "${_run}/.*.tmp-*")
    if(_before)
      list(REMOVE_ITEM _left ${_before})
    endif()
    if(_left)
      math(EXPR _mid_write "${_mid_write} + 1")
    endif()
    set(_steps 0)
    if(EXISTS "${_run}/metrics.jsonl")
      file(STRINGS "${_run}/metrics.jsonl" _lines)
      foreach(_line IN LISTS _lines)
        string(JSON _type ERROR_VARIABLE _bad GET "${_line}" type)
        if(_bad)
          message(FATAL_ERROR "after the kill at writev ${_n}: metrics.jsonl has a broken line: ${_line}")
        endif()
        if(_type STREQUAL "step")
          math(EXPR _steps "${_steps} + 1")
        endif()
      endforeach()
    endif()
    if(EXISTS "${_run}/checkpoint_last.safetensors")
      expect_success(_inspect weights inspect "${_run}/checkpoint_last.safetensors")
    endif()
    message(STATUS "killed at writev ${_n}: ${_steps} steps logged, left half-written: ${_left}")
  endforeach()
  if(NOT _mid_write EQUAL 10)
    message(FATAL_ERROR "${_mid_write} of the ten kills landed inside a file write, expected all")
  endif()
  expect_success(_stdout train classifier --resume "${_run}" --quiet)
  foreach(_file checkpoint_last.safetensors checkpoint_best.safetensors weights.safetensors)
    file(SHA256 "${DIR}/whole_10/${_file}" _want)
    file(SHA256 "${_run}/${_file}" _got)
    if(NOT _want STREQUAL _got)
      message(FATAL_ERROR "${_file} after ten kills differs from the uninterrupted run's")
    endif()
  endforeach()
  expect_files("${_run}" "the run resumed after ten kills" report.html loss.png accuracy.png lr.png)
  count_lines("${_run}/metrics.jsonl" _n)
  file(GLOB _left "${_run}/.*.tmp-*")
  if(NOT _n EQUAL 8 OR _left)
    message(FATAL_ERROR "after ten kills: metrics.jsonl has ${_n} lines (expected 8), temporaries left: ${_left}")
  endif()
  message(STATUS "all ten kills fell inside a file write; the bits equal the uninterrupted run's")
elseif(MODE STREQUAL "unreadable")
  set(_data "${DIR}/data_unreadable")
  file(REMOVE_RECURSE "${_data}" "${DIR}/run_unreadable" "${DIR}/run_stopped")
  file(COPY "${DIR}/data/" DESTINATION "${_data}")
  file(WRITE "${_data}/train/happy/broken.png" "not a png\n")
  set(_args train classifier --net mobilenet_v2 --data "${_data}" --epochs 2 --batch 4 --image-size 32 --resize 36
            --quiet)
  expect_failure("broken.png" _stdout ${_args} --out "${DIR}/run_stopped")
  expect_success(_stdout ${_args} --skip-unreadable --out "${DIR}/run_unreadable")
  file(STRINGS "${DIR}/run_unreadable/metrics.jsonl" _lines REGEX "\"type\":\"epoch\"")
  list(LENGTH _lines _epochs)
  foreach(_line IN LISTS _lines)
    string(JSON _skipped GET "${_line}" skipped)
    if(NOT _skipped EQUAL 1)
      message(FATAL_ERROR "an epoch skipped ${_skipped} images, expected 1: ${_line}")
    endif()
  endforeach()
  if(NOT _epochs EQUAL 2)
    message(FATAL_ERROR "${_epochs} epoch lines, expected 2")
  endif()
elseif(MODE STREQUAL "inception")
  file(REMOVE_RECURSE "${DIR}/run_inception")
  expect_success(_stdout train classifier --net inception_v3 --data "${DIR}/data" --epochs 1 --batch 6
                 --image-size 299 --resize 342 --quiet --out "${DIR}/run_inception")
  count_lines("${DIR}/run_inception/metrics.jsonl" _n)
  if(NOT _n EQUAL 3)
    message(FATAL_ERROR "metrics.jsonl has ${_n} lines, expected 2 steps + 1 epoch")
  endif()
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
