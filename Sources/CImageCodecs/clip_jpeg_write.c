// JPEG encoder for the search page's thumbnails: whole image in memory -> JPEG bytes in a
// malloc'd buffer (libjpeg's jpeg_mem_dest). Defaults are libjpeg's (baseline, 4:2:0, optimised
// Huffman tables off), with the caller's quality.
#include "include/clip_jpeg_write.h"

#include <setjmp.h>
#include <stdio.h>  // jpeglib.h needs FILE
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *message;
} clip_jpeg_write_error;

static void clip_jpeg_write_error_exit(j_common_ptr cinfo) {
    clip_jpeg_write_error *error = (clip_jpeg_write_error *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    strncpy(error->message, text, 159);
    error->message[159] = 0;
    longjmp(error->jump, 1);
}

static void clip_jpeg_write_output_message(j_common_ptr cinfo) { (void)cinfo; }

void clip_jpeg_buffer_free(clip_jpeg_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->size = 0;
}

int clip_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                     clip_jpeg_buffer *out) {
    memset(out, 0, sizeof *out);
    if (channels != 1 && channels != 3) {
        strncpy(out->message, "channels must be 1 or 3", sizeof out->message - 1);
        return 1;
    }
    // JPEG's own limit is 65535 pixels a side.
    if (width <= 0 || height <= 0 || width > 65535 || height > 65535) {
        strncpy(out->message, "image size must be 1...65535 pixels a side", sizeof out->message - 1);
        return 1;
    }
    struct jpeg_compress_struct cinfo;
    clip_jpeg_write_error error;
    // volatile: modified between setjmp and longjmp.
    unsigned char *volatile data = NULL;
    unsigned long volatile size = 0;
    cinfo.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = clip_jpeg_write_error_exit;
    error.manager.output_message = clip_jpeg_write_output_message;
    error.message = out->message;
    if (setjmp(error.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(data);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&data, (unsigned long *)&size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        // libjpeg does not modify the row; its API just is not const-correct.
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    out->data = data;
    out->size = size;
    return 0;
}
