# tools/synth/synth_deps.cmake — what the synthetic data generator (tools/synth/) and `anima frames`
# link: cairo (drawing, through pkg-config) and OpenCV core + videoio (video I/O only). Defines the
# GLOBAL imported target anima::synth_deps and sets ANIMA_SYNTH_DEPS_FOUND. Included by
# tools/CMakeLists.txt and tests/synth/CMakeLists.txt.
#
# OpenCV: its CMake package when installed (libopencv-dev), else the headers and libraries of
# Debian's component packages (libopencv-videoio-dev brings core and videoio, not OpenCVConfig.cmake).
set(ANIMA_SYNTH_DEPS_FOUND OFF)
if(TARGET anima::synth_deps)
  set(ANIMA_SYNTH_DEPS_FOUND ON)
  return()
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(ANIMA_CAIRO QUIET IMPORTED_TARGET GLOBAL cairo)
endif()
if(NOT TARGET PkgConfig::ANIMA_CAIRO)
  message(WARNING "anima: cairo not found (install libcairo2-dev and pkg-config)")
  return()
endif()

find_package(OpenCV QUIET COMPONENTS core videoio)
if(OpenCV_FOUND)
  set(_anima_opencv_includes ${OpenCV_INCLUDE_DIRS})
  set(_anima_opencv_libs opencv_core opencv_videoio)
else()
  find_path(ANIMA_OPENCV_INCLUDE_DIR opencv2/videoio.hpp PATH_SUFFIXES opencv4)
  find_library(ANIMA_OPENCV_CORE_LIBRARY opencv_core)
  find_library(ANIMA_OPENCV_VIDEOIO_LIBRARY opencv_videoio)
  if(NOT ANIMA_OPENCV_INCLUDE_DIR OR NOT ANIMA_OPENCV_CORE_LIBRARY OR NOT ANIMA_OPENCV_VIDEOIO_LIBRARY)
    message(WARNING "anima: OpenCV videoio not found (install libopencv-videoio-dev)")
    return()
  endif()
  set(_anima_opencv_includes "${ANIMA_OPENCV_INCLUDE_DIR}")
  set(_anima_opencv_libs "${ANIMA_OPENCV_VIDEOIO_LIBRARY}" "${ANIMA_OPENCV_CORE_LIBRARY}")
endif()

find_path(ANIMA_STB_INCLUDE_DIR stb/stb_image_write.h)
if(NOT ANIMA_STB_INCLUDE_DIR)
  message(WARNING "anima: stb not found (install libstb-dev)")
  return()
endif()

add_library(anima_synth_deps INTERFACE IMPORTED GLOBAL)
set_target_properties(anima_synth_deps PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_anima_opencv_includes};${ANIMA_STB_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "PkgConfig::ANIMA_CAIRO;${_anima_opencv_libs}")
add_library(anima::synth_deps ALIAS anima_synth_deps)
set(ANIMA_SYNTH_DEPS_FOUND ON)
