# cmake -DANIMA=<anima> -DDATA=<tests/io/data> -DWORK=<scratch folder> -DMODE=ok|corrupt -P weights_cli.cmake
#   ok:      `anima weights inspect` (text and --json) and `anima weights convert` on valid checkpoints
#   corrupt: corrupt / unreadable / missing files exit with status 2 and one message naming the file,
#            and convert leaves no output (nor temporary) file behind.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

# run(<expected exit status> <args>...): sets OUT and ERR.
function(run expected)
  execute_process(COMMAND "${ANIMA}" ${ARGN} WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT "${rc}" STREQUAL "${expected}")
    message(FATAL_ERROR "anima ${ARGN}: exit status ${rc}, expected ${expected}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  set(OUT "${out}" PARENT_SCOPE)
  set(ERR "${err}" PARENT_SCOPE)
endfunction()

# expect(<text> <fragment>...): every fragment occurs in text.
function(expect text)
  foreach(f IN LISTS ARGN)
    string(FIND "${text}" "${f}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "expected to find '${f}' in:\n${text}")
    endif()
  endforeach()
endfunction()

if(MODE STREQUAL "ok")
  run(0 weights inspect "${DATA}/small_legacy.pth" --manifests "${DATA}/manifests")
  expect("${OUT}" "pytorch legacy checkpoint, 9 tensors, 214 elements, 205 parameters"
         "1.num_batches_tracked" "[4, 3, 3, 3]" "manifest: matches tiny exactly (Tiny_Weights.TEST)")

  run(0 weights inspect "${DATA}/small_zip.pth" --manifests "${DATA}/manifests")
  expect("${OUT}" "pytorch zip checkpoint, 9 tensors" "the file name is that of Tiny_Weights.TEST")

  run(0 weights inspect "${DATA}/nested_zip.pth" --json --manifests "${DATA}/manifests")
  expect("${OUT}" "\"num_tensors\": 9" "\"exact\": true" "\"net\": \"tiny\"" "\"name\": \"0.weight\"")

  # No manifests folder in the working directory: "match" is null.
  run(0 weights inspect "${DATA}/dtypes_zip.pth" --json)
  expect("${OUT}" "\"format\": \"pytorch zip checkpoint\"" "\"num_tensors\": 15" "\"match\": null")

  run(0 weights inspect "${DATA}/dtypes_legacy.pth")
  expect("${OUT}" "manifest: not checked")

  run(0 weights convert "${DATA}/small_legacy.pth" "${WORK}/small.safetensors")
  expect("${OUT}" "wrote 9 tensors (214 elements)")
  run(0 weights inspect "${WORK}/small.safetensors" --manifests "${DATA}/manifests")
  expect("${OUT}" "safetensors, 9 tensors, 214 elements" "manifest: matches tiny exactly")
  file(GLOB leftovers "${WORK}/*.tmp*")
  if(leftovers)
    message(FATAL_ERROR "convert left temporary files: ${leftovers}")
  endif()
elseif(MODE STREQUAL "corrupt")
  run(2 weights inspect "${DATA}/bad_truncated_zip.pth")
  expect("${ERR}" "anima: error:" "bad_truncated_zip.pth" "not a valid zip archive")

  run(2 weights inspect "${DATA}/bad_compressed.pth")
  expect("${ERR}" "bad_compressed.pth" "is compressed")

  run(2 weights inspect "${WORK}/no_such_file.pth")
  expect("${ERR}" "no_such_file.pth" "cannot open")

  run(2 weights convert "${DATA}/bad_garbage.bin" "${WORK}/out.safetensors")
  expect("${ERR}" "bad_garbage.bin" "not a weight file")
  file(GLOB written "${WORK}/out.safetensors*")
  if(written)
    message(FATAL_ERROR "a failed convert wrote ${written}")
  endif()
else()
  message(FATAL_ERROR "MODE must be ok or corrupt, got '${MODE}'")
endif()
