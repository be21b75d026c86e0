// JPEG through libjpeg-turbo with the settings Pillow 11.0.0 uses (src/libImaging/JpegDecode.c,
// src/PIL/JpegImagePlugin.py): libjpeg picks the file's colour space, out_color_space is
// GRAYSCALE / RGB / CMYK for 1 / 3 / 4 components, JDCT_ISLOW, fancy upsampling on, and CMYK
// samples inverted ("CMYK;I": Pillow always assumes Adobe polarity).
#include "clip_common.h"

#include <setjmp.h>
#include <stdio.h>  // jpeglib.h needs FILE
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    int status;
    char message[JMSG_LENGTH_MAX];
} clip_jpeg_error;

typedef struct {
    struct jpeg_progress_mgr manager;
    int max_scans;
} clip_jpeg_progress;

static void clip_jpeg_error_exit(j_common_ptr cinfo) {
    clip_jpeg_error *error = (clip_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, error->message);
    error->status = CLIP_ERR_CORRUPT;
    longjmp(error->jump, 1);
}

static void clip_jpeg_emit_message(j_common_ptr cinfo, int level) {
    clip_jpeg_error *error = (clip_jpeg_error *)cinfo->err;
    if (level >= 0) {
        return;  // trace messages
    }
    // libjpeg pads a file that ends early with a fake EOI and only warns. Pillow refuses such
    // files ("image file is truncated"), so we stop too. Other corrupt-data warnings (bad
    // Huffman data, extraneous bytes) still yield an image, as in Pillow.
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        (*cinfo->err->format_message)(cinfo, error->message);
        error->status = CLIP_ERR_TRUNCATED;
        longjmp(error->jump, 1);
    }
    cinfo->err->num_warnings++;
}

static void clip_jpeg_progress_monitor(j_common_ptr cinfo) {
    clip_jpeg_progress *progress = (clip_jpeg_progress *)cinfo->progress;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (progress->max_scans > 0 && dinfo->input_scan_number > progress->max_scans) {
        clip_jpeg_error *error = (clip_jpeg_error *)cinfo->err;
        snprintf(error->message, sizeof error->message,
                 "progressive JPEG has more than %d scans", progress->max_scans);
        error->status = CLIP_ERR_TOO_MANY_SCANS;
        longjmp(error->jump, 1);
    }
}

// Decodes into `dest` (`capacity` bytes, exactly the image's size) when given, into a fresh
// malloc'd buffer otherwise. With `size_only` set it stops after the header and fills in
// width, height and mode: the caller can then allocate the pixels itself and decode into
// them, which saves copying a photo's worth of bytes (and faulting in a second buffer).
static int jpeg_decode(const uint8_t *data, size_t size, clip_decode_limits limits, uint8_t *dest,
                       size_t capacity, int size_only, clip_image *out) {
    struct jpeg_decompress_struct cinfo;
    clip_jpeg_error error;
    clip_jpeg_progress progress;
    // volatile: modified between setjmp and longjmp.
    uint8_t *volatile pixels = NULL;

    memset(out, 0, sizeof *out);
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = clip_jpeg_error_exit;
    error.manager.emit_message = clip_jpeg_emit_message;
    error.status = CLIP_OK;
    error.message[0] = 0;

    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&cinfo);
        if (pixels && pixels != dest) {
            free(pixels);
        }
        out->pixels = NULL;
        return clip_fail(out, error.status, "%s", error.message);
    }

    jpeg_create_decompress(&cinfo);
    progress.manager.progress_monitor = clip_jpeg_progress_monitor;
    progress.max_scans = limits.max_scans;
    cinfo.progress = &progress.manager;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int status = clip_check_size(out, cinfo.image_width, cinfo.image_height, limits);
    if (status != CLIP_OK) {
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    int mode;
    switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; mode = CLIP_MODE_L; break;
    case 3: cinfo.out_color_space = JCS_RGB; mode = CLIP_MODE_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; mode = CLIP_MODE_CMYK; break;
    default:
        jpeg_destroy_decompress(&cinfo);
        return clip_fail(out, CLIP_ERR_UNSUPPORTED, "JPEG with %d components", cinfo.num_components);
    }
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    if (limits.jpeg_min_short_side > 0) {
        unsigned int shorter = cinfo.image_width < cinfo.image_height ? cinfo.image_width : cinfo.image_height;
        for (unsigned int denom = 8; denom >= 2; denom /= 2) {
            if ((shorter + denom - 1) / denom >= (unsigned int)limits.jpeg_min_short_side) {
                cinfo.scale_num = 1;
                cinfo.scale_denom = denom;
                break;
            }
        }
    }
    if (size_only) {
        jpeg_calc_output_dimensions(&cinfo);
        out->width = (int)cinfo.output_width;
        out->height = (int)cinfo.output_height;
        out->mode = mode;
        jpeg_destroy_decompress(&cinfo);
        return CLIP_OK;
    }
    jpeg_start_decompress(&cinfo);

    out->width = (int)cinfo.output_width;
    out->height = (int)cinfo.output_height;
    out->mode = mode;
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    if (dest) {
        if (capacity != stride * (size_t)cinfo.output_height) {
            jpeg_destroy_decompress(&cinfo);
            return clip_fail(out, CLIP_ERR_CORRUPT, "JPEG size differs from its header");
        }
        pixels = dest;
    } else {
        pixels = clip_alloc_pixels(out, (size_t)cinfo.output_components);
    }
    if (!pixels) {
        jpeg_destroy_decompress(&cinfo);
        return clip_fail(out, CLIP_ERR_NO_MEMORY, "out of memory");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    if (mode == CLIP_MODE_CMYK) {
        size_t count = stride * (size_t)cinfo.output_height;
        for (size_t i = 0; i < count; i++) {
            pixels[i] = (uint8_t)(255 - pixels[i]);
        }
    }
    // No jpeg_finish_decompress: whatever follows the last scanline (EOI, trailing bytes)
    // does not change the pixels.
    jpeg_destroy_decompress(&cinfo);
    out->pixels = dest ? NULL : pixels;
    return CLIP_OK;
}

int clip_jpeg_decode(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out) {
    return jpeg_decode(data, size, limits, NULL, 0, 0, out);
}

int clip_jpeg_size(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out) {
    return jpeg_decode(data, size, limits, NULL, 0, 1, out);
}

int clip_jpeg_decode_into(const uint8_t *data, size_t size, clip_decode_limits limits, uint8_t *dest,
                          size_t capacity, clip_image *out) {
    if (!dest) return clip_fail(out, CLIP_ERR_NO_MEMORY, "no destination buffer");
    return jpeg_decode(data, size, limits, dest, capacity, 0, out);
}
