# tools/anima/cli_deps.cmake — finds what the anima tool needs besides the library: CLI11 (its CMake
# package, else the header, as the target CLI11::CLI11), nlohmann_json, and the synth/frames
# dependencies (tools/synth/synth_deps.cmake). Sets ANIMA_CLI_DEPS_FOUND, and ANIMA_CLI_DEPS_MISSING
# to a readable list of what is not installed.
#
# Included by tools/CMakeLists.txt and by the tests of the tool (tests/synth, tests/io/cli): tests/ is
# configured before tools/, so they cannot ask whether the target anima_cli exists.
include("${CMAKE_CURRENT_LIST_DIR}/../synth/synth_deps.cmake")
find_package(nlohmann_json 3 QUIET)
find_package(CLI11 CONFIG QUIET)
if(NOT TARGET CLI11::CLI11)
  find_path(ANIMA_CLI11_INCLUDE_DIR CLI/CLI.hpp)
  if(ANIMA_CLI11_INCLUDE_DIR)
    add_library(CLI11::CLI11 INTERFACE IMPORTED GLOBAL)
    set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${ANIMA_CLI11_INCLUDE_DIR}")
  endif()
endif()

set(ANIMA_CLI_DEPS_MISSING "")
if(NOT TARGET CLI11::CLI11)
  list(APPEND ANIMA_CLI_DEPS_MISSING "CLI11 (libcli11-dev)")
endif()
if(NOT TARGET nlohmann_json::nlohmann_json)
  list(APPEND ANIMA_CLI_DEPS_MISSING "nlohmann_json (nlohmann-json3-dev)")
endif()
if(NOT ANIMA_SYNTH_DEPS_FOUND)
  list(APPEND ANIMA_CLI_DEPS_MISSING "the synth/frames dependencies (cairo, OpenCV videoio, stb)")
endif()
if(ANIMA_CLI_DEPS_MISSING)
  set(ANIMA_CLI_DEPS_FOUND OFF)
else()
  set(ANIMA_CLI_DEPS_FOUND ON)
endif()

# stb_image_write's JPEG encoder shifts a negative int left (bitBuf <<= 8 once bit 31 is set): undefined
# in C++17, but defined by GCC and clang as two's complement (and by C++20), so not a fault; UBSan's
# shift-base check would stop a sanitized run on it (tools/sanitize.sh, the fuzz replays). The one file
# that compiles stb's implementations leaves that check out; every other check stays on for it.
set_source_files_properties("${CMAKE_CURRENT_LIST_DIR}/stb_impl.cpp" PROPERTIES COMPILE_OPTIONS
  "$<$<CXX_COMPILER_ID:GNU,Clang>:-fno-sanitize=shift-base>")
