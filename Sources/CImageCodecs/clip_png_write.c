// PNG encoder for the synthetic dataset generator: whole image in memory -> PNG bytes in a
// growing malloc'd buffer. Filters are left to libpng's defaults; the compression level is
// the caller's (1 keeps thousands of small images per second).
#include "include/clip_png_write.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static void clip_png_write_data(png_structp png, png_bytep data, size_t length) {
    clip_png_buffer *buffer = (clip_png_buffer *)png_get_io_ptr(png);
    if (length > buffer->capacity - buffer->size) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity - buffer->size < length) {
            if (capacity > ((size_t)-1) / 2) {
                png_error(png, "PNG too large for memory");
            }
            capacity *= 2;
        }
        uint8_t *grown = (uint8_t *)realloc(buffer->data, capacity);
        if (!grown) {
            png_error(png, "out of memory");
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, data, length);
    buffer->size += length;
}

static void clip_png_write_flush(png_structp png) { (void)png; }

static void clip_png_write_error(png_structp png, png_const_charp message) {
    clip_png_buffer *buffer = (clip_png_buffer *)png_get_error_ptr(png);
    strncpy(buffer->message, message, sizeof buffer->message - 1);
    buffer->message[sizeof buffer->message - 1] = 0;
    png_longjmp(png, 1);
}

static void clip_png_write_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

void clip_png_buffer_free(clip_png_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->size = 0;
    buffer->capacity = 0;
}

int clip_png_encode(const uint8_t *pixels, int width, int height, int channels,
                    int compression_level, clip_png_buffer *out) {
    memset(out, 0, sizeof *out);
    int color_type;
    switch (channels) {
    case 1: color_type = PNG_COLOR_TYPE_GRAY; break;
    case 2: color_type = PNG_COLOR_TYPE_GRAY_ALPHA; break;
    case 3: color_type = PNG_COLOR_TYPE_RGB; break;
    case 4: color_type = PNG_COLOR_TYPE_RGB_ALPHA; break;
    default:
        strncpy(out->message, "channels must be 1, 2, 3 or 4", sizeof out->message - 1);
        return 1;
    }
    if (width <= 0 || height <= 0 || width > 0x7fffffff / channels) {
        strncpy(out->message, "image size must be positive", sizeof out->message - 1);
        return 1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, out, clip_png_write_error, clip_png_write_warning);
    if (!png) {
        strncpy(out->message, "out of memory", sizeof out->message - 1);
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        strncpy(out->message, "out of memory", sizeof out->message - 1);
        return 1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(out->data);
        out->data = NULL;
        out->size = 0;
        out->capacity = 0;
        return 1;
    }
    png_set_write_fn(png, out, clip_png_write_data, clip_png_write_flush);
    png_set_compression_level(png, compression_level < 0 ? 0 : compression_level > 9 ? 9 : compression_level);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++) {
        // libpng does not modify the row; its API just is not const-correct.
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}
