# tests/hostile/hostile_inputs.cmake — runs every row of the hostile-input table through the anima
# binary and fails the test unless each one exits with status 2 and prints "anima: error:" with every
# fragment of its row on stderr (the file's name and what was expected). All rows run; the failures
# are listed together.
#   cmake -DANIMA=<anima> -DTABLE=<table.txt> -DINPUTS=<tests/hostile/inputs> -DIODATA=<tests/io/data>
#         -DFIXTURE=<classify fixture dir> -DWORK=<scratch dir> -P hostile_inputs.cmake
# Table rows: "name | arguments | fragment & fragment ..." (# starts a comment). In the arguments, @IN@
# stands for INPUTS, @IO@ for IODATA, @WORK@ for WORK, @WEIGHTS@ for the fixture's MobileNetV2 checkpoint and @IMAGE@
# for its PNG. Rows named no_gpu_* run only on a machine where `anima devices` lists no CUDA device.
# Made here before the rows run: @WORK@/empty_folder (an ImageFolder whose class folders hold no
# image) and @WORK@/symlink_loop (a class folder holding a link to its own parent).
cmake_minimum_required(VERSION 3.25)  # new policies: "@WORK@" is text, not a variable reference
foreach(_v ANIMA TABLE INPUTS IODATA FIXTURE WORK)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "hostile_inputs.cmake: -D${_v}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/empty_folder/test/happy" "${WORK}/empty_folder/test/sad")
file(MAKE_DIRECTORY "${WORK}/symlink_loop/test/happy" "${WORK}/symlink_loop/test/sad")
file(CREATE_LINK "${WORK}/symlink_loop/test" "${WORK}/symlink_loop/test/happy/loop" SYMBOLIC)
file(CREATE_LINK "${WORK}/symlink_loop/test" "${WORK}/symlink_loop/test/sad/loop" SYMBOLIC)

execute_process(COMMAND "${ANIMA}" devices OUTPUT_VARIABLE _devices ERROR_QUIET)
set(_has_gpu FALSE)
if(_devices MATCHES "cuda:0")
  set(_has_gpu TRUE)
endif()

file(STRINGS "${TABLE}" _rows)
set(_failures "")
set(_ran 0)
foreach(_row IN LISTS _rows)
  if(_row MATCHES "^[ \t]*(#|$)")
    continue()
  endif()
  if(NOT _row MATCHES "^([A-Za-z0-9_]+) +\\| +(.+) +\\| +(.+)$")
    message(FATAL_ERROR "${TABLE}: malformed row: ${_row}")
  endif()
  set(_name "${CMAKE_MATCH_1}")
  set(_args "${CMAKE_MATCH_2}")
  set(_fragments "${CMAKE_MATCH_3}")
  if(_name MATCHES "^no_gpu_" AND _has_gpu)
    message(STATUS "${_name}: skipped (a CUDA device is present)")
    continue()
  endif()
  string(REPLACE "@IN@" "${INPUTS}" _args "${_args}")
  string(REPLACE "@IO@" "${IODATA}" _args "${_args}")
  string(REPLACE "@WORK@" "${WORK}" _args "${_args}")
  string(REPLACE "@WEIGHTS@" "${FIXTURE}/weights.safetensors" _args "${_args}")
  string(REPLACE "@IMAGE@" "${FIXTURE}/image.png" _args "${_args}")
  separate_arguments(_argv UNIX_COMMAND "${_args}")
  execute_process(COMMAND "${ANIMA}" ${_argv} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
                  TIMEOUT 60)
  math(EXPR _ran "${_ran} + 1")
  string(REPLACE " & " ";" _wanted "${_fragments}")
  set(_missing "")
  foreach(_f IN LISTS _wanted ITEMS "anima: error:")
    string(FIND "${_err}" "${_f}" _at)
    if(_at EQUAL -1)
      list(APPEND _missing "'${_f}'")
    endif()
  endforeach()
  if(NOT _rc STREQUAL "2" OR _missing)
    string(REPLACE ";" ", " _missing "${_missing}")
    list(APPEND _failures "${_name}: exit ${_rc}, missing ${_missing}\n    stderr: ${_err}")
  endif()
endforeach()

list(LENGTH _failures _n)
if(_n GREATER 0)
  string(REPLACE ";" "\n" _report "${_failures}")
  message(FATAL_ERROR "${_n} of ${_ran} hostile inputs did not give their error:\n${_report}")
endif()
message(STATUS "${_ran} hostile inputs, each refused with exit status 2 and its message")
