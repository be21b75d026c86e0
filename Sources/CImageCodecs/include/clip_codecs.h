// C wrappers around libjpeg-turbo, libpng, libwebp and giflib for CLIPImage. No public API.
//
// Each decoder reads a whole file from memory and returns the pixels in the layout Pillow
// 11.0.0 would hold after `Image.open(...).load()`, so the Swift side can resample exactly
// as Pillow does. libjpeg and libpng report errors with longjmp; that must never cross a
// Swift frame, so all setjmp/longjmp handling lives in clip_codecs.c.
#ifndef CLIP_CODECS_H
#define CLIP_CODECS_H

#include <stddef.h>
#include <stdint.h>

/// Pillow modes the decoders produce (see CLIPImage's PixelMode).
typedef enum {
    CLIP_MODE_1 = 0,     // 1 byte per pixel, 0 or 255
    CLIP_MODE_L = 1,     // 1 byte
    CLIP_MODE_LA = 2,    // 2 bytes: L, A
    CLIP_MODE_P = 3,     // 1 byte palette index; palette in `palette`
    CLIP_MODE_RGB = 4,   // 3 bytes
    CLIP_MODE_RGBA = 5,  // 4 bytes
    CLIP_MODE_CMYK = 6,  // 4 bytes, already un-inverted as Pillow's "CMYK;I" rawmode does
    CLIP_MODE_I16 = 7,   // 2 bytes, little-endian uint16
} clip_mode;

typedef enum {
    CLIP_OK = 0,
    CLIP_ERR_CORRUPT = 1,       // decoder rejected the data
    CLIP_ERR_TRUNCATED = 2,     // data ended before the image did
    CLIP_ERR_TOO_LARGE = 3,     // width*height above the caller's limit (checked from the header)
    CLIP_ERR_UNSUPPORTED = 4,   // a valid file of a kind we do not decode (12-bit JPEG, animation...)
    CLIP_ERR_NO_MEMORY = 5,
    CLIP_ERR_TOO_MANY_SCANS = 6,  // progressive JPEG with more scans than allowed
    CLIP_ERR_EMPTY = 7,         // zero width or height
} clip_status;

typedef struct {
    uint64_t max_pixels;   // 0: no limit
    int max_scans;         // progressive JPEG scan cap; 0: no limit
    // libjpeg DCT scaling fast path: when > 0, JPEGs decode at the smallest of 1/8, 1/4, 1/2
    // scale whose shorter side is still >= this many pixels. 0: full size (exact, default).
    int jpeg_min_short_side;
} clip_decode_limits;

typedef struct {
    int width;
    int height;
    int mode;              // clip_mode
    uint8_t *pixels;       // malloc'd, width*height*bytes-per-pixel; free with clip_image_free
    uint8_t palette[768];  // mode P: RGB triples; entries past palette_count are 0 (as Pillow)
    int palette_count;
    char message[200];     // decoder message on failure
} clip_image;

void clip_image_free(clip_image *image);

/// Each decoder checks the limits from the header before decoding pixels, fills `out` and
/// returns CLIP_OK, or returns a clip_status with `out->message` set and nothing allocated.
int clip_jpeg_decode(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out);
/// The JPEG path in two steps, so that the caller owns the pixel memory: `clip_jpeg_size`
/// reads the header and sets `out`'s width, height and mode (no pixels); `clip_jpeg_decode_into`
/// decodes into `dest`, which must hold exactly width * height * bytes-per-pixel bytes, and
/// leaves `out->pixels` NULL.
int clip_jpeg_size(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out);
int clip_jpeg_decode_into(const uint8_t *data, size_t size, clip_decode_limits limits, uint8_t *dest,
                          size_t capacity, clip_image *out);
int clip_png_decode(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out);
int clip_webp_decode(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out);
int clip_gif_decode(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out);

#endif
