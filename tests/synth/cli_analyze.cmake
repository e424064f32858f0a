# tests/synth/cli_analyze.cmake — runs the real `anima analyze` binary (ctest cli_analyze*) on the files
# AnalyzeCli.WritesFixture leaves in DIR: a 2-second synthetic episode (24 frames of 160x96 at 12 fps)
# with its true timeline, a Mask R-CNN with the golden fixture's weights (it finds ~100 things per frame
# above 0.05, whatever they are), the same made blind (finds nothing), an 8-class MobileNetV2 whose
# metadata names its classes and net, a Motion-JPEG AVI cut at 60% and a text file named .mp4.
#   cmake -DANIMA=<anima> -DDIR=<fixture dir> -DMODE=json|no_faces|truncated|not_video -P cli_analyze.cmake
# json:      every 4th frame at --square 160, faces kept from score 0.975 (the golden weights score
#            everything 0.84-0.98: this keeps 0 to 5 per frame): timeline.json (schema, 6 sampled frames, faces and their
#            fields, complete), timeline.csv (a row per face), subtitles.srt and .vtt (cue times
#            increasing), annotated.mp4, rating.png, timeline.png, faces/*.png, report.html (rendered in
#            headless Chromium when it is installed); `anima eval analyze` against the true timeline
#            (JSON fields, counts in range) and its text form.
# no_faces:  the blind detector: exit 0, an empty timeline, no cues, a report saying no faces were found.
# truncated: exit 2 naming the video, with timeline.json written for the frames read, "complete": false.
# not_video: exit 2 naming the file, and nothing written.
include("${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake")
set(_out "${DIR}/out_${MODE}")
file(REMOVE_RECURSE "${_out}")
set(_models --classifier "${DIR}/classifier.safetensors" --every 4 --square 160 --batch 8 --quiet)

if(MODE STREQUAL "json")
  expect_success(_stdout analyze "${DIR}/video.mp4" --out "${_out}" --detector "${DIR}/detector.safetensors"
                 --score 0.975 ${_models})
  if(NOT _stdout MATCHES "6 sampled frames")
    message(FATAL_ERROR "analyze printed: ${_stdout}")
  endif()
  expect_files("${_out}" "anima analyze" timeline.json timeline.csv subtitles.srt subtitles.vtt annotated.mp4
               report.html)
  foreach(_png rating timeline)
    expect_png("${_out}/${_png}.png" "anima analyze")
  endforeach()
  file(READ "${_out}/timeline.json" _json)
  json_fields("${_json}" "" schema complete sampled_frames faces every)
  if(NOT schema STREQUAL "anima.analyze/1" OR NOT complete STREQUAL "ON" OR NOT sampled_frames EQUAL 6
     OR NOT every EQUAL 4 OR faces LESS 1)
    message(FATAL_ERROR "timeline.json: schema ${schema}, complete ${complete}, ${sampled_frames} frames, "
                        "${faces} faces, every ${every}")
  endif()
  string(JSON _frame1 GET "${_json}" timeline 1 frame)
  string(JSON _time1 GET "${_json}" timeline 1 time)
  if(NOT _frame1 EQUAL 4 OR NOT _time1 MATCHES "^0\\.333")
    message(FATAL_ERROR "the second sample is frame ${_frame1} at ${_time1} s, expected 4 at 1/3 s")
  endif()
  # The first face of the first frame with one: its fields, and its class among the 8.
  string(JSON _n LENGTH "${_json}" timeline)
  math(EXPR _last "${_n} - 1")
  foreach(_i RANGE ${_last})
    string(JSON _k LENGTH "${_json}" timeline ${_i} faces)
    if(_k GREATER 0)
      json_fields("${_json}" "timeline;${_i};faces;0" character emotion class probability score detected_as)
      string(JSON _box LENGTH "${_json}" timeline ${_i} faces 0 box)
      string(JSON _probs LENGTH "${_json}" timeline ${_i} faces 0 probabilities)
      if(NOT class STREQUAL "${emotion}_${character}" OR NOT _box EQUAL 4 OR NOT _probs EQUAL 8
         OR NOT detected_as MATCHES "^(tom|jerry)$" OR score LESS 0.975 OR probability GREATER 1)
        message(FATAL_ERROR "face fields: ${class} = ${emotion}_${character}, box ${_box}, ${_probs} "
                            "probabilities, detected as ${detected_as}, score ${score}, p ${probability}")
      endif()
      break()
    endif()
  endforeach()
  count_lines("${_out}/timeline.csv" _rows)
  math(EXPR _expected_rows "${faces} + 1")
  if(NOT _rows EQUAL _expected_rows)
    message(FATAL_ERROR "timeline.csv has ${_rows} lines, expected ${_expected_rows} (header + a row per face)")
  endif()
  file(STRINGS "${_out}/subtitles.srt" _times REGEX "-->")
  list(LENGTH _times _cues)
  if(_cues LESS 1)
    message(FATAL_ERROR "subtitles.srt has no cue")
  endif()
  set(_previous "")
  foreach(_t IN LISTS _times)
    if(NOT _t MATCHES "^00:00:0[0-9],[0-9][0-9][0-9] --> 00:00:0[0-2],[0-9][0-9][0-9]$")
      message(FATAL_ERROR "subtitles.srt: bad cue time line '${_t}'")
    endif()
    if(_previous STRGREATER _t)
      message(FATAL_ERROR "subtitles.srt: cues out of order ('${_previous}' then '${_t}')")
    endif()
    set(_previous "${_t}")
  endforeach()
  file(READ "${_out}/subtitles.vtt" _vtt)
  if(NOT _vtt MATCHES "^WEBVTT\n\n00:00:0" OR NOT _vtt MATCHES " is ")
    message(FATAL_ERROR "subtitles.vtt: ${_vtt}")
  endif()
  file(GLOB _faces "${_out}/faces/*.png")
  if(NOT _faces)
    message(FATAL_ERROR "no faces/<class>.png written")
  endif()
  file(READ "${_out}/report.html" _html)
  if(NOT _html MATCHES "Episode rating" OR NOT _html MATCHES "data:image/png;base64")
    message(FATAL_ERROR "report.html has no episode rating or no pictures")
  endif()
  expect_renders_in_browser("${_out}/report.html" "anima analyze")

  expect_success(_eval eval analyze --truth "${DIR}/video.timeline.json" --pred "${_out}" --json)
  json_fields("${_eval}" "" schema frames faces paired agreed agreement false_detections)
  if(NOT schema STREQUAL "anima.eval.analyze/1" OR NOT frames EQUAL 6 OR faces LESS 6 OR paired GREATER faces
     OR agreed GREATER paired OR agreement LESS 0 OR agreement GREATER 1)
    message(FATAL_ERROR "eval analyze: ${_eval}")
  endif()
  expect_success(_text eval analyze --truth "${DIR}/video.timeline.json" --pred "${_out}/timeline.json")
  if(NOT _text MATCHES "6 sampled frames, [0-9]+ true faces" OR NOT _text MATCHES "agreement")
    message(FATAL_ERROR "eval analyze printed: ${_text}")
  endif()
  expect_failure("classifier.safetensors" _bad eval analyze --truth "${DIR}/classifier.safetensors" --pred "${_out}")
elseif(MODE STREQUAL "no_faces")
  expect_success(_stdout analyze "${DIR}/video.mp4" --out "${_out}" --detector "${DIR}/blind.safetensors" --no-video
                 ${_models})
  if(NOT _stdout MATCHES "no faces were found")
    message(FATAL_ERROR "analyze printed: ${_stdout}")
  endif()
  file(READ "${_out}/timeline.json" _json)
  json_fields("${_json}" "" faces sampled_frames complete)
  file(READ "${_out}/subtitles.srt" _srt)
  file(READ "${_out}/report.html" _html)
  if(NOT faces EQUAL 0 OR NOT sampled_frames EQUAL 6 OR NOT complete STREQUAL "ON" OR NOT _srt STREQUAL ""
     OR NOT _html MATCHES "No faces were found in this video")
    message(FATAL_ERROR "no faces: ${faces} faces in ${sampled_frames} frames, subtitles '${_srt}'")
  endif()
  if(EXISTS "${_out}/annotated.mp4")
    message(FATAL_ERROR "--no-video wrote annotated.mp4")
  endif()
elseif(MODE STREQUAL "truncated")
  expect_failure("truncated.avi.*broke off" _stdout analyze "${DIR}/truncated.avi" --out "${_out}"
                 --detector "${DIR}/blind.safetensors" ${_models})
  file(READ "${_out}/timeline.json" _json)
  json_fields("${_json}" "" complete sampled_frames error)
  if(NOT complete STREQUAL "OFF" OR sampled_frames LESS 1 OR sampled_frames GREATER 5 OR error STREQUAL "")
    message(FATAL_ERROR "truncated: complete ${complete}, ${sampled_frames} frames, error '${error}'")
  endif()
  file(READ "${_out}/report.html" _html)
  if(NOT _html MATCHES "INCOMPLETE")
    message(FATAL_ERROR "the report of a truncated video does not say it is incomplete")
  endif()
elseif(MODE STREQUAL "not_video")
  expect_failure("cannot open video.*not_a_video.mp4" _stdout analyze "${DIR}/not_a_video.mp4" --out "${_out}"
                 --detector "${DIR}/detector.safetensors" ${_models})
  if(EXISTS "${_out}")
    message(FATAL_ERROR "analyze of a file that is not a video created ${_out}")
  endif()
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
