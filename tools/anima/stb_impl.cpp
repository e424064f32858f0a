// tools/anima/stb_impl.cpp — the one translation unit that compiles stb_image_write and stb_image
// (Debian's libstb-dev headers); every other file includes them for declarations only.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
// Decoders for PNG, JPEG and BMP only: the formats anima's data come in. stb_image's other decoders
// (GIF, TGA, PSD, PIC, PNM, HDR) are left out of the binary, so hostile files cannot reach them.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
// Zeroed allocations: a JPEG whose scan names a Huffman table it never defined makes stb_image 2.27
// read that table's memory; zeroed, the table finds no code and the decode fails instead of indexing
// with whatever the memory held.
#include <cstdlib>
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(p, size) std::realloc(p, size)
#define STBI_FREE(p) std::free(p)
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
