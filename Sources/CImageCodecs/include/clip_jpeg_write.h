// JPEG encoding through libjpeg-turbo for CLIPImage's JPEGEncoder (thumbnails of the search
// page). No public API: Swift wraps it. libjpeg reports errors with longjmp, so all setjmp
// handling stays inside clip_jpeg_write.c.
#ifndef CLIP_JPEG_WRITE_H
#define CLIP_JPEG_WRITE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;       // malloc'd JPEG file bytes; free with clip_jpeg_buffer_free
    size_t size;
    char message[160];   // libjpeg's message on failure
} clip_jpeg_buffer;

/// Encodes `height` rows of `width * channels` 8-bit samples (channels 1 = gray, 3 = RGB),
/// baseline, 4:2:0 chroma subsampling for RGB, with libjpeg `quality` 1...100.
/// Returns 0 and fills `out`, or returns non-zero with `out->message` set and nothing allocated.
int clip_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                     clip_jpeg_buffer *out);

void clip_jpeg_buffer_free(clip_jpeg_buffer *buffer);

#endif
