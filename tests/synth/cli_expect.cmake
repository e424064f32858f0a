# tests/synth/cli_expect.cmake — what the cli_<command>.cmake scripts share: the -D arguments every one
# needs (ANIMA = the anima binary, DIR = the fixture folder, MODE = what to check) and the two ways a
# run is expected to end, and the kill-and-resume check of `anima train`.
foreach(_v ANIMA DIR MODE)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "${CMAKE_SCRIPT_MODE_FILE}: -D${_v}=... is required")
  endif()
endforeach()

# expect_success(<stdout var> <args>...): runs `anima <args>`; fails the test unless it exits 0.
function(expect_success out_var)
  execute_process(COMMAND "${ANIMA}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "anima ${ARGV1} failed (${rc}): ${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# expect_failure(<named> <stdout var> <args>...): runs `anima <args>`; fails the test unless it exits
# with status 2 (an anima::Error) with "anima: error: ... <named> ..." on stderr (the message names the offending file).
function(expect_failure named out_var)
  execute_process(COMMAND "${ANIMA}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "anima ${ARGV2} should have failed with exit status 2 (${MODE}) but exited ${rc}: ${out}")
  endif()
  if(NOT err MATCHES "anima: error: .*${named}")
    message(FATAL_ERROR "expected 'anima: error: ...${named}...' on stderr, got: ${err}")
  endif()
  message(STATUS "failed as expected (${rc}): ${err}")
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# expect_absent(<path> <what>): fails the test with "<what> <path>" when <path> exists (a run that
# should have written nothing did).
function(expect_absent path what)
  if(EXISTS "${path}")
    message(FATAL_ERROR "${what} ${path}")
  endif()
endfunction()

# json_fields(<json> <path> <field>...): sets each variable <field> to the member <field> of the object
# at <path> (a list of keys and indices) in the JSON text <json>.
function(json_fields json path)
  foreach(_field ${ARGN})
    string(JSON _value GET "${json}" ${path} ${_field})
    set(${_field} "${_value}" PARENT_SCOPE)
  endforeach()
endfunction()

# expect_ranked(<value> <previous var> <low> <high> <what>): fails the test unless low <= value <= high
# and value <= the previous one (scores listed best first); then makes value the previous one.
function(expect_ranked value previous_var low high what)
  if(value LESS low OR value GREATER high OR value GREATER ${previous_var})
    message(FATAL_ERROR "${what}: ${value} (previous ${${previous_var}}) outside [${low}, ${high}] or out of order")
  endif()
  set(${previous_var} "${value}" PARENT_SCOPE)
endfunction()

# expect_png(<file> <what>): fails the test unless <file> exists and starts with the PNG signature.
function(expect_png file what)
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "${what} did not write ${file}")
  endif()
  file(READ "${file}" _magic LIMIT 4 HEX)
  if(NOT _magic STREQUAL "89504e47")
    message(FATAL_ERROR "${file} is not a PNG (starts with ${_magic})")
  endif()
endfunction()

# expect_files(<dir> <what> <file>...): fails the test unless every <file> exists in <dir>.
function(expect_files dir what)
  foreach(_file IN LISTS ARGN)
    if(NOT EXISTS "${dir}/${_file}")
      message(FATAL_ERROR "${what} did not write ${dir}/${_file}")
    endif()
  endforeach()
endfunction()

# count_lines(<file> <var>): sets <var> to the number of lines of <file>.
function(count_lines file out_var)
  file(STRINGS "${file}" _lines)
  list(LENGTH _lines _n)
  set(${out_var} ${_n} PARENT_SCOPE)
endfunction()

# expect_same_after_kill(<task> <whole> <out> <steps> <lines> <train args>...): runs `anima <train args>
# --out <out> --kill-after-steps <steps>` (a SIGKILL after that step), resumes it with `anima train
# <task> --resume <out>`, and fails the test unless the run was killed, its checkpoint_last and
# weights.safetensors equal those of the uninterrupted run in <whole> byte for byte, and its
# metrics.jsonl has <lines> lines.
function(expect_same_after_kill task whole out steps lines)
  file(REMOVE_RECURSE "${out}")
  execute_process(COMMAND "${ANIMA}" ${ARGN} --out "${out}" --kill-after-steps ${steps} RESULT_VARIABLE _rc
                  OUTPUT_QUIET ERROR_VARIABLE _err)
  if(_rc EQUAL 0)
    message(FATAL_ERROR "the run with --kill-after-steps ${steps} was not killed: ${_err}")
  endif()
  message(STATUS "killed as asked (${_rc})")
  expect_success(_stdout train ${task} --resume "${out}" --quiet)
  foreach(_file checkpoint_last.safetensors weights.safetensors)
    file(SHA256 "${whole}/${_file}" _want)
    file(SHA256 "${out}/${_file}" _got)
    if(NOT _want STREQUAL _got)
      message(FATAL_ERROR "${_file} of the resumed run differs from the uninterrupted run's")
    endif()
  endforeach()
  count_lines("${out}/metrics.jsonl" _n)
  if(NOT _n EQUAL lines)
    message(FATAL_ERROR "the resumed run's metrics.jsonl has ${_n} lines, expected ${lines}")
  endif()
endfunction()

# expect_renders_in_browser(<html> <what>): with Debian's chromium installed, renders <html> headless
# into <html>.png (1200x2600) and fails the test unless the page loaded without a script error and the
# screenshot holds pictures: a page of text alone compresses to about 15 KB, these reports to 100 KB
# and more. Without chromium it says so and checks nothing.
function(expect_renders_in_browser html what)
  if(NOT EXISTS /usr/bin/chromium)
    message(STATUS "no /usr/bin/chromium: ${what}'s page not rendered")
    return()
  endif()
  get_filename_component(_dir "${html}" DIRECTORY)
  set(_shot "${html}.png")
  file(REMOVE "${_shot}")
  execute_process(COMMAND /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
                          --disable-background-networking --disable-component-update --disable-sync
                          --hide-scrollbars --window-size=1200,2600 --user-data-dir=${_dir}/chromium_profile
                          --enable-logging=stderr --screenshot=${_shot} file://${html}
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _log TIMEOUT 120)
  file(REMOVE_RECURSE "${_dir}/chromium_profile")
  if(NOT _rc EQUAL 0 OR NOT EXISTS "${_shot}" OR _log MATCHES "Page load failed|Uncaught|CONSOLE")
    message(FATAL_ERROR "${what}: chromium did not render ${html} cleanly (exit ${_rc}):\n${_log}")
  endif()
  file(SIZE "${_shot}" _bytes)
  if(_bytes LESS 60000)
    message(FATAL_ERROR "${what}: the screenshot of ${html} is ${_bytes} bytes: its pictures did not render")
  endif()
  message(STATUS "${what}: ${html} rendered in chromium (${_bytes}-byte screenshot)")
endfunction()

# run_killed_at(<rc var> <syscalls> <n> <args>...): runs `anima <args>` under strace, which sends it
# SIGKILL as it enters its <n>-th call of one of <syscalls> (e.g. "write,writev"; counted per system
# call and per thread: the writes of a training run all come from its main thread). A deterministic
# "kill at a random moment" that can land in the middle of a file being written. Sets <rc var> to the
# exit status; killed_rc_regex matches it when the process was killed.
set(killed_rc_regex "^(137|Subprocess killed)$")
function(run_killed_at rc_var syscalls n)
  execute_process(COMMAND strace -f -qq -o /dev/null -e trace=${syscalls} -e inject=${syscalls}:signal=KILL:when=${n}
                          "${ANIMA}" ${ARGN}
                  RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_VARIABLE _err)
  set(${rc_var} "${_rc}" PARENT_SCOPE)
endfunction()

# skip_without_strace(): ends the script with "SKIPPED: no strace" (the tests that call it have that as
# their SKIP_REGULAR_EXPRESSION) when strace is not installed or cannot trace here (a container
# without ptrace).
macro(skip_without_strace)
  find_program(_strace strace)
  if(NOT _strace)
    message("SKIPPED: no strace (tools/setup.sh installs it)")
    return()
  endif()
  execute_process(COMMAND "${_strace}" -f -qq -o /dev/null -e trace=write true RESULT_VARIABLE _strace_rc
                  OUTPUT_QUIET ERROR_VARIABLE _strace_err)
  if(NOT _strace_rc EQUAL 0)
    message("SKIPPED: no strace that can trace here (${_strace_rc}): ${_strace_err}")
    return()
  endif()
endmacro()

