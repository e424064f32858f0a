// tools/report/cairo_canvas.hpp — a cairo image surface and its drawing context, created and destroyed
// together; png() encodes the surface into PNG bytes in memory. Creation failures are anima::Errors.
#pragma once

#include <cairo.h>

#include <vector>

#include <anima/core/error.hpp>

namespace anima::report {

class CairoCanvas {
 public:
  CairoCanvas(cairo_format_t format, int width, int height)
      : surface_(cairo_image_surface_create(format, width, height)), cr_(cairo_create(surface_)) {
    ANIMA_CHECK(cairo_status(cr_) == CAIRO_STATUS_SUCCESS, "cairo", "cannot create a ", width, "x", height,
                " image: ", cairo_status_to_string(cairo_status(cr_)));
  }
  ~CairoCanvas() {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }
  CairoCanvas(const CairoCanvas&) = delete;
  CairoCanvas& operator=(const CairoCanvas&) = delete;

  cairo_t* cr() const { return cr_; }
  cairo_surface_t* surface() const { return surface_; }

  std::vector<unsigned char> png() const {
    cairo_surface_flush(surface_);
    std::vector<unsigned char> bytes;
    const cairo_status_t s = cairo_surface_write_to_png_stream(surface_, append_bytes, &bytes);
    ANIMA_CHECK(s == CAIRO_STATUS_SUCCESS, "cairo", "cannot encode the PNG: ", cairo_status_to_string(s));
    return bytes;
  }

 private:
  static cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
    auto* out = static_cast<std::vector<unsigned char>*>(closure);
    out->insert(out->end(), data, data + length);
    return CAIRO_STATUS_SUCCESS;
  }

  cairo_surface_t* surface_;
  cairo_t* cr_;
};

}  // namespace anima::report
