// tools/anima/main.cpp — the `anima` command line.
//
// Each subcommand lives in its own <name>_command.hpp and registers itself with
// add_<name>_command(app, status); its callback runs inside app.parse() and sets the exit status.
// Exit status: 0 success; 2 an anima::Error (a bad or missing input, a refused setting: one message
// on stderr naming the file or the op and what was expected); 1 an unexpected failure (any other
// exception); 130 a training run stopped by Ctrl-C after saving its checkpoint; bad command lines
// exit with CLI11's status (usage on stderr). The CUDA backend and the drawing/video libraries live in
// plugins opened on first use (tools/anima/plugin.hpp), so `anima --help` and CPU work load neither.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include <anima/core/error.hpp>

#include "agreement_command.hpp"
#include "analyze_command.hpp"
#include "classify_command.hpp"
#include "crops_command.hpp"
#include "cuda_backend.hpp"
#include "detect_command.hpp"
#include "devices_command.hpp"
#include "eval_command.hpp"
#include "frames_command.hpp"
#include "synth_command.hpp"
#include "train_command.hpp"
#include "weights_command.hpp"
#include "source_commit.hpp"

int main(int argc, char** argv) {
  CLI::App app{"anima: a CNN engine for finding cartoon characters' faces and their emotions"};
  app.require_subcommand(1);
  int status = 0;
  anima::cli::use_cuda_plugin();
  anima::cli::add_synth_command(app, status);
  anima::cli::add_frames_command(app, status);
  anima::cli::add_weights_command(app, status);
  anima::cli::add_classify_command(app, status);
  anima::cli::add_detect_command(app, status);
  anima::cli::add_devices_command(app, status);
  anima::cli::add_analyze_command(app, status);
  anima::cli::add_agreement_command(app, status);
  anima::cli::add_crops_command(app, status);
  anima::cli::add_eval_command(app, status);
  anima::cli::add_train_command(app, status, anima::cli::kSourceCommit);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const anima::Error& e) {
    std::fprintf(stderr, "anima: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "anima: unexpected error: %s\n", e.what());
    return 1;
  }
  return status;
}
