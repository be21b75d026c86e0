// Shared helpers for the decoders: freeing, error messages, the pixel limit.
#include "clip_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void clip_image_free(clip_image *image) {
    if (image && image->pixels) {
        free(image->pixels);
        image->pixels = NULL;
    }
}

int clip_fail(clip_image *out, int status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(out->message, sizeof out->message, format, args);
    va_end(args);
    return status;
}

int clip_check_size(clip_image *out, uint64_t width, uint64_t height, clip_decode_limits limits) {
    if (width == 0 || height == 0) {
        return clip_fail(out, CLIP_ERR_EMPTY, "image has zero size (%llux%llu)",
                         (unsigned long long)width, (unsigned long long)height);
    }
    // Both factors fit in 32 bits for every format we read, so the product cannot overflow.
    if (limits.max_pixels && width * height > limits.max_pixels) {
        return clip_fail(out, CLIP_ERR_TOO_LARGE, "%llux%llu = %llu pixels exceeds the limit of %llu",
                         (unsigned long long)width, (unsigned long long)height,
                         (unsigned long long)(width * height), (unsigned long long)limits.max_pixels);
    }
    return CLIP_OK;
}

uint8_t *clip_alloc_pixels(clip_image *out, size_t bytes_per_pixel) {
    size_t count = (size_t)out->width * (size_t)out->height * bytes_per_pixel;
    out->pixels = (uint8_t *)malloc(count ? count : 1);
    return out->pixels;
}
