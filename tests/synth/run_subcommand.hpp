// tests/synth/run_subcommand.hpp — runs one `anima` subcommand in-process, through the CLI11
// registration main.cpp uses (add_<name>_command(app, status)), and returns what it printed on stdout;
// error_message turns the anima::Error a failing command throws into its message.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <anima/core/error.hpp>

namespace anima::cli::testing {

// `add_command(app, status)` registers the subcommand; `args` are what follows `anima` on the command
// line. The command's exit status lands in *status_out (when given). A CLI11 parse error or an
// anima::Error propagates to the caller, with the capture of stdout ended first.
template <class AddCommand>
std::string run_subcommand(AddCommand add_command, const std::vector<std::string>& args, int* status_out = nullptr) {
  CLI::App app;
  int status = -1;
  add_command(app, status);
  std::vector<const char*> argv{"anima"};
  for (const auto& a : args) argv.push_back(a.c_str());
  ::testing::internal::CaptureStdout();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (...) {
    std::fflush(stdout);
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  std::fflush(stdout);
  if (status_out) *status_out = status;
  return ::testing::internal::GetCapturedStdout();
}

// The message of the anima::Error that `call()` throws, or "<no error>" when it returns normally.
template <class Call>
std::string error_message(Call call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace anima::cli::testing
