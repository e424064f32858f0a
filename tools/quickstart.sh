#!/usr/bin/env bash
# From a fresh clone to a running anima: installs the packages (tools/setup.sh), configures build/,
# builds the anima tool (target anima_cli) and runs the main job: `anima synth` draws a short synthetic
# cartoon episode into $BUILD_DIR/quickstart, and `anima analyze` finds the faces in it and recognises
# their emotions with the demo models (weights/demo/), writing the timeline, the subtitles, the
# annotated video and report.html into $BUILD_DIR/quickstart/episode.
#
#   bash tools/quickstart.sh
# Environment: BUILD_DIR (build), ANIMA_CUDA (AUTO), JOBS (all cores), SECONDS_OF_VIDEO (20).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source tools/configure_build.sh
configure_build -DANIMA_CUDA="${ANIMA_CUDA:-AUTO}"
cmake --build "$build" -j "$jobs" --target anima_cli
out="$build/quickstart"
"$build/tools/anima" synth --out "$out/data" --seed 7 --frames 0 --videos 1 --seconds "${SECONDS_OF_VIDEO:-20}"
video=$(ls "$out"/data/videos/*.mp4 | head -1)
"$build/tools/anima" analyze "$video" --out "$out/episode"
"$build/tools/anima" eval analyze --truth "${video%.mp4}.timeline.json" --pred "$out/episode"
echo "quickstart: the report is $out/episode/report.html"
