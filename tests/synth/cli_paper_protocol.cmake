# tests/synth/cli_paper_protocol.cmake — one cell of the paper's protocol (ctest cli_paper_protocol):
# `anima synth` draws 100 frames into DIR, tools/paper_protocol.sh cuts their faces three ways with
# `anima crops` and trains, evaluates and compares MobileNetV2 on the masked cut (1 epoch at 64 px,
# random initialisation; half the faces for training, a quarter each for validation and test, so that
# every class has images in every split), then `anima eval compare` puts the cell and a second copy of it in one table.
#   cmake -DANIMA=<anima> -DDIR=<work dir> -DMODE=json -DSCRIPT=<tools/paper_protocol.sh> -P cli_paper_protocol.cmake
# Checks: the three cuts hold the same regions in the same splits (crops.csv rows equal but for the
# file names' folder), every split has the 8 class folders, the crops are 72x72 PNGs; the protocol
# writes comparison.md and comparison.html with the cell's row; a bad NAME=FILE is an error naming it.
include("${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake")
file(REMOVE_RECURSE "${DIR}")
expect_success(_stdout synth --out "${DIR}/data" --frames 100 --size 160x96 --seed 5 --quiet)
foreach(_cut mask box frame)
  expect_success(_stdout crops --data "${DIR}/data/via_region_data.json" --images "${DIR}/data/frames"
                 --out "${DIR}/protocol/data_${_cut}" --cut ${_cut} --size 72 --split 50,25,25 --quiet)
  file(STRINGS "${DIR}/protocol/data_${_cut}/crops.csv" _rows_${_cut})
  foreach(_split train val test)
    file(GLOB _classes LIST_DIRECTORIES true "${DIR}/protocol/data_${_cut}/${_split}/*")
    list(LENGTH _classes _n)
    if(NOT _n EQUAL 8)
      message(FATAL_ERROR "crops --cut ${_cut}: ${_split}/ has ${_n} class folders, expected 8")
    endif()
  endforeach()
endforeach()
list(LENGTH _rows_mask _n)
if(_n LESS 20)
  message(FATAL_ERROR "crops.csv has ${_n} lines: too few faces to test")
endif()
if(NOT _rows_mask STREQUAL _rows_box OR NOT _rows_mask STREQUAL _rows_frame)
  message(FATAL_ERROR "the three cuts do not hold the same regions in the same splits")
endif()
list(GET _rows_mask 1 _first)
string(REGEX MATCH "^[^,]+" _file "${_first}")
expect_png("${DIR}/protocol/data_mask/${_file}" "anima crops")
execute_process(COMMAND "${CMAKE_COMMAND}" -E env ANIMA=${ANIMA} NETS=mobilenet_v2 CUTS=mask EPOCHS=1 BATCH=8
                        IMAGE_SIZE=64 CROP_SIZE=72 SPLIT=50,25,25 WORKERS=1 bash "${SCRIPT}" "${DIR}/data" "${DIR}/protocol"
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "paper_protocol.sh failed (${_rc}): ${_out}\n${_err}")
endif()
expect_files("${DIR}/protocol" "paper_protocol.sh" comparison.md comparison.html eval/mobilenet_v2_mask/metrics.json)
file(READ "${DIR}/protocol/comparison.md" _md)
if(NOT _md MATCHES "\\| mobilenet_v2/mask \\| [01]\\.[0-9][0-9][0-9] \\|" OR NOT _md MATCHES "## F1 per class")
  message(FATAL_ERROR "comparison.md: ${_md}")
endif()
set(_metrics "${DIR}/protocol/eval/mobilenet_v2_mask/metrics.json")
expect_success(_two eval compare a=${_metrics} b=${_metrics})
if(NOT _two MATCHES "\\| a \\|" OR NOT _two MATCHES "\\| b \\|")
  message(FATAL_ERROR "eval compare of two runs printed: ${_two}")
endif()
expect_failure("nope.json" _bad eval compare a=${DIR}/nope.json)
