// PNG encoding through libpng for CLIPImage's PNGEncoder (used by the synthetic dataset
// generator). No public API: Swift wraps it. libpng reports errors with longjmp, so all
// setjmp handling stays inside clip_png_write.c.
#ifndef CLIP_PNG_WRITE_H
#define CLIP_PNG_WRITE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;       // malloc'd PNG file bytes; free with clip_png_buffer_free
    size_t size;
    size_t capacity;
    char message[160];   // libpng's message on failure
} clip_png_buffer;

/// Encodes `height` rows of `width * channels` 8-bit samples (channels 1 = gray, 2 = gray +
/// alpha, 3 = RGB, 4 = RGBA), non-interlaced, with zlib `compression_level` 0...9.
/// Returns 0 and fills `out`, or returns non-zero with `out->message` set and nothing allocated.
int clip_png_encode(const uint8_t *pixels, int width, int height, int channels,
                    int compression_level, clip_png_buffer *out);

void clip_png_buffer_free(clip_png_buffer *buffer);

#endif
