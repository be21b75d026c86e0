// PNG through libpng, mapped to the modes Pillow 11.0.0 gives (PngImagePlugin._MODES):
// gray 1 bit -> "1"; 2/4/8 bit -> "L" (values scaled to 0-255); 16 bit -> "I;16";
// RGB 8/16 -> "RGB"; RGBA 8/16 -> "RGBA"; gray+alpha 8 -> "LA", 16 -> "RGBA";
// palette 1-8 bit -> "P". 16-bit samples keep their high byte (Pillow's ";16B" unpackers),
// except "I;16". tRNS, gamma and colour profiles are not applied (Pillow leaves them in info).
#include "clip_common.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;
    char message[160];
} clip_png_reader;

static void clip_png_read(png_structp png, png_bytep buffer, size_t length) {
    clip_png_reader *reader = (clip_png_reader *)png_get_io_ptr(png);
    if (length > reader->size - reader->offset) {
        reader->truncated = 1;
        png_error(png, "file ends before the image data does");
    }
    memcpy(buffer, reader->data + reader->offset, length);
    reader->offset += length;
}

static void clip_png_error(png_structp png, png_const_charp message) {
    clip_png_reader *reader = (clip_png_reader *)png_get_error_ptr(png);
    strncpy(reader->message, message, sizeof reader->message - 1);
    reader->message[sizeof reader->message - 1] = 0;
    png_longjmp(png, 1);
}

static void clip_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;  // benign problems (bad ancillary chunks) do not change the pixels
}

int clip_png_decode(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out) {
    clip_png_reader reader = {data, size, 0, 0, {0}};
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;

    memset(out, 0, sizeof *out);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, clip_png_error, clip_png_warning);
    if (!png) {
        return clip_fail(out, CLIP_ERR_NO_MEMORY, "out of memory");
    }
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return clip_fail(out, CLIP_ERR_NO_MEMORY, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        out->pixels = NULL;
        return clip_fail(out, reader.truncated ? CLIP_ERR_TRUNCATED : CLIP_ERR_CORRUPT, "%s",
                         reader.message);
    }
    png_set_read_fn(png, &reader, clip_png_read);
    // Our own pixel limit applies; libpng's default 1,000,000-pixel row/column cap would not.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    int status = clip_check_size(out, width, height, limits);
    if (status != CLIP_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return status;
    }

    int mode, bytes;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
        if (bit_depth == 16) {
            mode = CLIP_MODE_I16;
            bytes = 2;
            png_set_swap(png);  // Pillow stores I;16 little-endian
        } else {
            mode = bit_depth == 1 ? CLIP_MODE_1 : CLIP_MODE_L;
            bytes = 1;
            // 1 -> 0/255, 2 -> v*85, 4 -> v*17: the same as Pillow's "1", "L;2", "L;4".
            png_set_expand_gray_1_2_4_to_8(png);
        }
        break;
    case PNG_COLOR_TYPE_RGB:
        mode = CLIP_MODE_RGB;
        bytes = 3;
        png_set_strip_16(png);
        break;
    case PNG_COLOR_TYPE_PALETTE: {
        mode = CLIP_MODE_P;
        bytes = 1;
        png_set_packing(png);  // one index per byte
        png_colorp palette;
        int count = 0;
        if (png_get_PLTE(png, info, &palette, &count) && count > 0) {
            if (count > 256) {
                count = 256;
            }
            for (int i = 0; i < count; i++) {
                out->palette[i * 3 + 0] = palette[i].red;
                out->palette[i * 3 + 1] = palette[i].green;
                out->palette[i * 3 + 2] = palette[i].blue;
            }
            out->palette_count = count;
        }
        break;
    }
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        if (bit_depth == 16) {
            mode = CLIP_MODE_RGBA;  // Pillow: (16, 4) -> ("RGBA", "LA;16B")
            bytes = 4;
            png_set_strip_16(png);
            png_set_gray_to_rgb(png);
        } else {
            mode = CLIP_MODE_LA;
            bytes = 2;
        }
        break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
        mode = CLIP_MODE_RGBA;
        bytes = 4;
        png_set_strip_16(png);
        break;
    default:
        png_destroy_read_struct(&png, &info, NULL);
        return clip_fail(out, CLIP_ERR_UNSUPPORTED, "PNG colour type %d", color_type);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)width * (size_t)bytes) {
        png_destroy_read_struct(&png, &info, NULL);
        return clip_fail(out, CLIP_ERR_UNSUPPORTED, "unexpected PNG row layout");
    }

    out->width = (int)width;
    out->height = (int)height;
    out->mode = mode;
    pixels = clip_alloc_pixels(out, (size_t)bytes);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        out->pixels = NULL;
        return clip_fail(out, CLIP_ERR_NO_MEMORY, "out of memory");
    }
    for (png_uint_32 y = 0; y < height; y++) {
        rows[y] = pixels + (size_t)y * (size_t)width * (size_t)bytes;
    }
    png_read_image(png, rows);
    // Chunks after the image data (text, IEND) do not change the pixels; not read.
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->pixels = pixels;
    return CLIP_OK;
}
