// Internal helpers shared by the decoder files (not part of the module's public header).
#ifndef CLIP_COMMON_H
#define CLIP_COMMON_H

#include "include/clip_codecs.h"

int clip_fail(clip_image *out, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
int clip_check_size(clip_image *out, uint64_t width, uint64_t height, clip_decode_limits limits);
uint8_t *clip_alloc_pixels(clip_image *out, size_t bytes_per_pixel);

#endif
