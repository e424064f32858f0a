# tools/anima/cli_deps.cmake — whether what the anima tool needs besides the library is installed:
# nlohmann_json, the CLI11 header and the synth/frames dependencies (tools/synth/synth_deps.cmake),
# the checks tools/CMakeLists.txt makes before it adds anima_cli. Sets ANIMA_CLI_DEPS_FOUND, and
# ANIMA_CLI11_INCLUDE_DIR to the folder holding CLI/CLI.hpp.
#
# Included by the tests of the tool (tests/synth, tests/io/cli): tests/ is configured before tools/,
# so they cannot ask whether the target anima_cli exists.
include("${CMAKE_CURRENT_LIST_DIR}/../synth/synth_deps.cmake")
find_package(nlohmann_json 3 QUIET)
find_path(ANIMA_CLI11_INCLUDE_DIR CLI/CLI.hpp)
set(ANIMA_CLI_DEPS_FOUND OFF)
if(ANIMA_SYNTH_DEPS_FOUND AND TARGET nlohmann_json::nlohmann_json AND ANIMA_CLI11_INCLUDE_DIR)
  set(ANIMA_CLI_DEPS_FOUND ON)
endif()
