// tests/fuzz/replay_main.cpp — runs a fuzz target's LLVMFuzzerTestOneInput once on every file given
// (or every file under a folder given), as libFuzzer would, without libFuzzer: the committed corpus
// replayed in CI by ctest fuzz_replay_<target>. Prints how many inputs ran, and whether under
// AddressSanitizer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

// Whether this replay was compiled with AddressSanitizer (GCC defines __SANITIZE_ADDRESS__, clang
// answers __has_feature): printed, so ctest can require it where the build asked for the sanitizers.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUnderAddressSanitizer = true;
#else
constexpr bool kUnderAddressSanitizer = false;
#endif
#else
constexpr bool kUnderAddressSanitizer = false;
#endif

void run_one(const std::filesystem::path& file, std::size_t& count) {
  std::ifstream in(file, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  ++count;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) run_one(e.path(), count);
    } else {
      run_one(p, count);
    }
  }
  std::printf("%zu inputs replayed%s\n", count, kUnderAddressSanitizer ? " under AddressSanitizer" : "");
  return count > 0 ? 0 : 1;
}
