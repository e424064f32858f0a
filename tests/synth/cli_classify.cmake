# tests/synth/cli_classify.cmake — runs the real `anima classify` binary (ctest cli_classify*), on the
# files ClassifyCli.WritesFixture (tests/synth/classify_test.cpp) leaves in DIR.
#   cmake -DANIMA=<anima> -DDIR=<fixture dir> -DMODE=json|missing_image|corrupt_weights -P cli_classify.cmake
# json: exit status 0 and JSON output: one entry for image.png with "topk" of 3 entries, each with an
#       index in [0, 10), its label "class number <index>", a probability in [0, 1], sorted by probability.
# missing_image / corrupt_weights: a non-zero exit status and "anima: error:" naming the file on stderr.
include("${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake")
set(_common classify --net mobilenet_v2 --labels "${DIR}/labels.txt" --topk 3)

if(MODE STREQUAL "json")
  expect_success(_out ${_common} --weights "${DIR}/weights.safetensors" --json "${DIR}/image.png")
  string(JSON _n LENGTH "${_out}")
  string(JSON _file GET "${_out}" 0 file)
  string(JSON _k LENGTH "${_out}" 0 topk)
  if(NOT _n EQUAL 1 OR NOT _file STREQUAL "${DIR}/image.png" OR NOT _k EQUAL 3)
    message(FATAL_ERROR "unexpected JSON structure: ${_out}")
  endif()
  set(_previous 2)
  foreach(_i RANGE 2)
    json_fields("${_out}" "0;topk;${_i}" index label prob)
    if(index LESS 0 OR index GREATER 9 OR NOT label STREQUAL "class number ${index}")
      message(FATAL_ERROR "entry ${_i}: index ${index}, label '${label}': ${_out}")
    endif()
    expect_ranked("${prob}" _previous 0 1 "entry ${_i}: probability")
  endforeach()
  message(STATUS "anima classify --json: ${_out}")
elseif(MODE STREQUAL "missing_image" OR MODE STREQUAL "corrupt_weights")
  if(MODE STREQUAL "missing_image")
    set(_weights "${DIR}/weights.safetensors")
    set(_image "${DIR}/no_such_image.png")
    set(_named "no_such_image.png")
  else()
    set(_weights "${DIR}/labels.txt")  # a text file is no weight file
    set(_image "${DIR}/image.png")
    set(_named "labels.txt")
  endif()
  expect_failure("${_named}" _out ${_common} --weights "${_weights}" "${_image}")
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
