# Every file anima writes appears whole or not at all, even when the process is killed in the middle
# of writing it: a writer killed midway leaves the old file or the new one under the destination's
# name, never a part (the bytes go to a hidden temporary file that is renamed once complete).
#
#   cmake -DANIMA=<anima> -DDIR=<scratch folder> -DMODE=synth|convert -P cli_kill_writers.cmake
#
# Each kill is SIGKILL sent by strace as the process enters its n-th write(2) or writev(2) (skipped
# without strace). After each, every file under the destination's name must equal byte for byte the
# old version (what was there before) or the new one (what an uninterrupted run writes), and the kill
# must have left a temporary file behind (it fell inside a write, not between files).
# synth:   `anima synth` (JPEG frames and face crops, labels.csv, VIA and COCO JSON, an MP4 video and
#          its timeline) run over the output of a run with another seed; kills at writev 1, 8, 15, 22,
#          29 (images and JSON) and at write 1, 3 (the MP4 container).
# convert: `anima weights convert` of a 9 MB safetensors file (-DWEIGHTS) over an older file; kills at
#          writev 1, 2, 50, 140 (its header and tensors; it makes 142).
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

# kill_each(<old dir> <new dir> <syscalls:n>... ARGS <anima args>): for each <syscalls:n>, copies
# <old dir> to <DIR>/killed, runs `anima <anima args>` there killed at that call, and checks the result
# with expect_old_or_new. <anima args> name <DIR>/killed as their output.
function(kill_each old new)
  cmake_parse_arguments(_k "" "" "AT;ARGS" ${ARGN})
  foreach(_at IN LISTS _k_AT)
    string(REPLACE ":" ";" _pair "${_at}")
    list(GET _pair 0 _calls)
    list(GET _pair 1 _n)
    file(REMOVE_RECURSE "${DIR}/killed")
    file(COPY "${old}/" DESTINATION "${DIR}/killed")
    run_killed_at(_rc ${_calls} ${_n} ${_k_ARGS})
    if(NOT _rc MATCHES "${killed_rc_regex}")
      message(FATAL_ERROR "the run to be killed at ${_calls} call ${_n} ended with '${_rc}' instead")
    endif()
    expect_old_or_new("${DIR}/killed" "${old}" "${new}" "killed at ${_calls} ${_n}")
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
