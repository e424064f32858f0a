# tests/synth/cli_eval.cmake — runs the real `anima eval classifier` binary (ctest cli_eval*), on the
# files EvalCli.WritesFixture (tests/synth/eval_test.cpp) leaves in DIR.
#   cmake -DANIMA=<anima> -DDIR=<fixture dir> -DMODE=json|class_count -P cli_eval.cmake
# json: exit status 0; OUT/metrics.json with the schema anima.eval.classifier/1, 3 classes and 12
#       samples, predictions.csv, the three PNG pictures (drawn by the media plugin) and report.html.
# class_count: a folder of 4 classes for the 3-class net: a non-zero exit status, "anima: error:"
#       naming the folder on stderr, and no metrics.json written.
include("${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake")
set(_out "${DIR}/out_${MODE}")
file(REMOVE_RECURSE "${_out}")
set(_common eval classifier --net mobilenet_v2 --weights "${DIR}/weights.safetensors" --resize 64 --crop 64
            --out "${_out}")

if(MODE STREQUAL "json")
  expect_success(_stdout ${_common} --data "${DIR}/data")
  expect_files("${_out}" "anima eval" metrics.json predictions.csv report.html)
  file(READ "${_out}/metrics.json" _json)
  json_fields("${_json}" "" schema samples)
  string(JSON _classes LENGTH "${_json}" classes)
  if(NOT schema STREQUAL "anima.eval.classifier/1" OR NOT samples EQUAL 12 OR NOT _classes EQUAL 3)
    message(FATAL_ERROR "metrics.json: schema '${schema}', ${samples} samples, ${_classes} classes")
  endif()
  foreach(_png confusion_matrix precision_recall roc)
    expect_png("${_out}/${_png}.png" "anima eval")
  endforeach()
  message(STATUS "anima eval classifier: ${_stdout}")
elseif(MODE STREQUAL "class_count")
  expect_failure("four" _stdout ${_common} --data "${DIR}/four")
  expect_absent("${_out}/metrics.json" "a failed run wrote")
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
