# Every file anima writes appears whole or not at all, even when the process is killed in the middle
# of writing it: a writer killed midway leaves the old file or the new one under the destination's
# name, never a part (the bytes go to a hidden temporary file that is renamed once complete).
#
#   cmake -DANIMA=<anima> -DDIR=<scratch folder> -DMODE=synth|convert -P cli_kill_writers.cmake
#
# Each kill is SIGKILL sent by strace as the process enters its n-th write(2) or writev(2) into a
# temporary file (skipped without strace). A traced run first numbers the calls: strace counts every
# call of a kind in a thread, those into other files too (a sanitizer runtime writes into pipes, for
# one), so "the 3rd write into a temporary file" becomes the index of that call among all of them.
# After each kill, every file under the destination's name must equal byte for byte the old version
# (what was there before) or the new one (what an uninterrupted run writes), and the kill must have
# left a temporary file behind (it fell inside a write, not between files).
# synth:   `anima synth` (JPEG frames and face crops, labels.csv, VIA and COCO JSON, an MP4 video and
#          its timeline) run over the output of a run with another seed; kills at its writev 1, 8, 15,
#          22, 29 into temporary files (images and JSON) and at its write 1, 3 (the MP4 container).
# convert: `anima weights convert` of a 9 MB safetensors file (-DWEIGHTS) over an older file; kills at
#          its writev 1, 2, 50, 140 into the temporary file (its header and tensors; it makes 142).
include("${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake")
skip_without_strace()

# expect_old_or_new(<dir> <old dir> <new dir> <what>): fails the test unless every file under <dir>
# whose name is not a hidden temporary equals the file of the same path in <old dir> or <new dir>, and
# unless <dir> holds at least one temporary file.
function(expect_old_or_new dir old new what)
  file(GLOB_RECURSE _files RELATIVE "${dir}" "${dir}/*")
  set(_temporaries 0)
  foreach(_f IN LISTS _files)
    get_filename_component(_name "${_f}" NAME)
    if(_name MATCHES "^\\..*\\.tmp-[0-9]+-[0-9]+")
      math(EXPR _temporaries "${_temporaries} + 1")
      continue()
    endif()
    file(SHA256 "${dir}/${_f}" _got)
    set(_ok FALSE)
    foreach(_ref "${old}" "${new}")
      if(EXISTS "${_ref}/${_f}")
        file(SHA256 "${_ref}/${_f}" _want)
        if(_got STREQUAL _want)
          set(_ok TRUE)
        endif()
      endif()
    endforeach()
    if(NOT _ok)
      message(FATAL_ERROR "${what}: ${dir}/${_f} is neither the old file nor the new one (a part?)")
    endif()
  endforeach()
  if(_temporaries EQUAL 0)
    message(FATAL_ERROR "${what}: no temporary file left, the kill fell between files")
  endif()
  list(LENGTH _files _n)
  math(EXPR _n "${_n} - ${_temporaries}")
  message(STATUS "${what}: ${_n} files, each old or new, and ${_temporaries} temporary")
endfunction()

# calls_into_temporaries(<out prefix> <anima args>...): runs `anima <anima args>` once under strace and
# numbers its write and writev calls as strace's injection counts them (per thread and per system
# call). Sets <out prefix>_write and <out prefix>_writev to the lists of those numbers whose call went
# into a hidden temporary file, in order (the calls of the thread that made the first such call).
function(calls_into_temporaries out)
  set(_log "${DIR}/calls.strace")
  # -y names each descriptor's file; -s 0 leaves the data out.
  execute_process(COMMAND strace -f -qq -y -s 0 -e trace=write,writev -o "${_log}" "${ANIMA}" ${ARGN}
                  RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_VARIABLE _err)
  file(STRINGS "${_log}" _lines REGEX "^[0-9]+ +writev?\\(")
  set(_thread "")
  set(_write "")
  set(_writev "")
  foreach(_line IN LISTS _lines)
    if(NOT _line MATCHES "^([0-9]+) +(writev?)\\([0-9]+(<([^>]*)>)?")
      continue()
    endif()
    set(_tid "${CMAKE_MATCH_1}")
    set(_call "${CMAKE_MATCH_2}")
    set(_path "${CMAKE_MATCH_4}")
    if(NOT DEFINED _count_${_tid}_${_call})
      set(_count_${_tid}_${_call} 0)
    endif()
    math(EXPR _count_${_tid}_${_call} "${_count_${_tid}_${_call}} + 1")
    get_filename_component(_name "${_path}" NAME)
    if(_name MATCHES "^\\..*\\.tmp-[0-9]+-[0-9]+" AND (_thread STREQUAL "" OR _thread STREQUAL _tid))
      set(_thread "${_tid}")
      list(APPEND _${_call} ${_count_${_tid}_${_call}})
    endif()
  endforeach()
  if(_thread STREQUAL "")
    message(FATAL_ERROR "the traced run (exit ${_rc}) wrote into no temporary file:\n${_err}")
  endif()
  set(${out}_write "${_write}" PARENT_SCOPE)
  set(${out}_writev "${_writev}" PARENT_SCOPE)
endfunction()

# kill_each(<old dir> <new dir> AT <syscall:k>... ARGS <anima args>): numbers the calls of a traced run
# over a copy of <old dir> (calls_into_temporaries); then for each <syscall:k> copies <old dir> to
# <DIR>/killed, runs `anima <anima args>` there killed as it enters its k-th <syscall> into a temporary
# file, and checks the result with expect_old_or_new. <anima args> name <DIR>/killed as their output.
function(kill_each old new)
  cmake_parse_arguments(_k "" "" "AT;ARGS" ${ARGN})
  file(REMOVE_RECURSE "${DIR}/killed")
  file(COPY "${old}/" DESTINATION "${DIR}/killed")
  calls_into_temporaries(_into ${_k_ARGS})
  foreach(_at IN LISTS _k_AT)
    string(REPLACE ":" ";" _pair "${_at}")
    list(GET _pair 0 _calls)
    list(GET _pair 1 _k)
    list(LENGTH _into_${_calls} _made)
    if(_k GREATER _made)
      message(FATAL_ERROR "the traced run made ${_made} ${_calls} calls into temporary files, fewer than ${_k}")
    endif()
    math(EXPR _i "${_k} - 1")
    list(GET _into_${_calls} ${_i} _n)
    file(REMOVE_RECURSE "${DIR}/killed")
    file(COPY "${old}/" DESTINATION "${DIR}/killed")
    run_killed_at(_rc ${_calls} ${_n} ${_k_ARGS})
    if(NOT _rc MATCHES "${killed_rc_regex}")
      message(FATAL_ERROR "the run to be killed at ${_calls} call ${_n} ended with '${_rc}' instead")
    endif()
    expect_old_or_new("${DIR}/killed" "${old}" "${new}" "killed at ${_calls} ${_k} into a temporary (call ${_n})")
  endforeach()
endfunction()

file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
if(MODE STREQUAL "synth")
  set(_synth synth --frames 12 --size 128x96 --faces --videos 1 --quiet)
  expect_success(_stdout ${_synth} --seed 3 --out "${DIR}/old")
  expect_success(_stdout ${_synth} --seed 4 --out "${DIR}/new")
  kill_each("${DIR}/old" "${DIR}/new" AT writev:1 writev:8 writev:15 writev:22 writev:29 write:1 write:3
            ARGS ${_synth} --seed 4 --out "${DIR}/killed")
elseif(MODE STREQUAL "convert")
  if(NOT DEFINED WEIGHTS OR NOT EXISTS "${WEIGHTS}")
    message(FATAL_ERROR "-DWEIGHTS=<a safetensors file> is required for MODE=convert")
  endif()
  file(MAKE_DIRECTORY "${DIR}/convert_old" "${DIR}/convert_new")
  file(WRITE "${DIR}/convert_old/out.safetensors" "an older file in the destination's place\n")
  expect_success(_stdout weights convert "${WEIGHTS}" "${DIR}/convert_new/out.safetensors")
  kill_each("${DIR}/convert_old" "${DIR}/convert_new" AT writev:1 writev:2 writev:50 writev:140
            ARGS weights convert "${WEIGHTS}" "${DIR}/killed/out.safetensors")
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
