// GIF first frame through giflib, laid out as Pillow 11.0.0's GifImagePlugin gives it: the
// logical screen (grown if the frame sticks out), pixels outside the frame set to the
// frame's transparent index (or 0), mode "P" with the local palette else the global one, or
// "L" when there is no palette or it is the identity grey ramp (Pillow's _is_palette_needed).
#include "clip_common.h"

#include <gif_lib.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;
} clip_gif_reader;

static int clip_gif_read(GifFileType *gif, GifByteType *buffer, int length) {
    clip_gif_reader *reader = (clip_gif_reader *)gif->UserData;
    size_t available = reader->size - reader->offset;
    size_t count = (size_t)length;
    if (count > available) {
        count = available;
        reader->truncated = 1;
    }
    memcpy(buffer, reader->data + reader->offset, count);
    reader->offset += count;
    return (int)count;
}

static int clip_gif_status(const clip_gif_reader *reader) {
    return reader->truncated ? CLIP_ERR_TRUNCATED : CLIP_ERR_CORRUPT;
}

static int clip_gif_palette_is_identity(const ColorMapObject *map) {
    for (int i = 0; i < map->ColorCount; i++) {
        const GifColorType c = map->Colors[i];
        if (c.Red != i || c.Green != i || c.Blue != i) {
            return 0;
        }
    }
    return 1;
}

int clip_gif_decode(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out) {
    clip_gif_reader reader = {data, size, 0, 0};
    int error = 0;
    int transparency = -1;
    memset(out, 0, sizeof *out);

    GifFileType *gif = DGifOpen(&reader, clip_gif_read, &error);
    if (!gif) {
        return clip_fail(out, clip_gif_status(&reader), "%s", GifErrorString(error));
    }
    int status = clip_check_size(out, (uint64_t)gif->SWidth, (uint64_t)gif->SHeight, limits);
    if (status != CLIP_OK) {
        DGifCloseFile(gif, &error);
        return status;
    }

    for (;;) {
        GifRecordType record;
        if (DGifGetRecordType(gif, &record) == GIF_ERROR) {
            status = clip_fail(out, clip_gif_status(&reader), "%s", GifErrorString(gif->Error));
            break;
        }
        if (record == TERMINATE_RECORD_TYPE) {
            status = clip_fail(out, CLIP_ERR_CORRUPT, "GIF has no image");
            break;
        }
        if (record == EXTENSION_RECORD_TYPE) {
            int code;
            GifByteType *block;
            if (DGifGetExtension(gif, &code, &block) == GIF_ERROR) {
                status = clip_fail(out, clip_gif_status(&reader), "%s", GifErrorString(gif->Error));
                break;
            }
            // Graphic control extension: flags bit 0 marks a transparent index.
            if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4) {
                transparency = (block[1] & 1) ? block[4] : -1;
            }
            while (block) {
                if (DGifGetExtensionNext(gif, &block) == GIF_ERROR) {
                    break;
                }
            }
            if (gif->Error && reader.truncated) {
                status = clip_fail(out, CLIP_ERR_TRUNCATED, "file ends inside an extension block");
                break;
            }
            continue;
        }
        if (record != IMAGE_DESC_RECORD_TYPE) {
            continue;
        }
        if (DGifGetImageDesc(gif) == GIF_ERROR) {
            status = clip_fail(out, clip_gif_status(&reader), "%s", GifErrorString(gif->Error));
            break;
        }
        GifImageDesc desc = gif->Image;
        if (desc.Width <= 0 || desc.Height <= 0) {
            status = clip_fail(out, CLIP_ERR_EMPTY, "GIF frame has zero size");
            break;
        }
        int width = gif->SWidth, height = gif->SHeight;
        if (desc.Left + desc.Width > width) width = desc.Left + desc.Width;
        if (desc.Top + desc.Height > height) height = desc.Top + desc.Height;
        status = clip_check_size(out, (uint64_t)width, (uint64_t)height, limits);
        if (status != CLIP_OK) {
            break;
        }
        out->width = width;
        out->height = height;
        const ColorMapObject *map = desc.ColorMap ? desc.ColorMap : gif->SColorMap;
        if (map && !clip_gif_palette_is_identity(map)) {
            out->mode = CLIP_MODE_P;
            int count = map->ColorCount > 256 ? 256 : map->ColorCount;
            for (int i = 0; i < count; i++) {
                out->palette[i * 3 + 0] = map->Colors[i].Red;
                out->palette[i * 3 + 1] = map->Colors[i].Green;
                out->palette[i * 3 + 2] = map->Colors[i].Blue;
            }
            out->palette_count = count;
        } else {
            out->mode = CLIP_MODE_L;
        }
        if (!clip_alloc_pixels(out, 1)) {
            status = clip_fail(out, CLIP_ERR_NO_MEMORY, "out of memory");
            break;
        }
        memset(out->pixels, transparency >= 0 ? transparency : 0, (size_t)width * (size_t)height);
        // Interlaced rows arrive in four passes: every 8th row from 0, from 4, every 4th
        // from 2, every 2nd from 1.
        static const int starts[4] = {0, 4, 2, 1}, steps[4] = {8, 8, 4, 2};
        int passes = desc.Interlace ? 4 : 1;
        for (int pass = 0; pass < passes && status == CLIP_OK; pass++) {
            int start = desc.Interlace ? starts[pass] : 0;
            int step = desc.Interlace ? steps[pass] : 1;
            for (int y = start; y < desc.Height; y += step) {
                uint8_t *row = out->pixels + (size_t)(desc.Top + y) * (size_t)width + (size_t)desc.Left;
                if (DGifGetLine(gif, row, desc.Width) == GIF_ERROR) {
                    clip_image_free(out);
                    status = clip_fail(out, clip_gif_status(&reader), "%s", GifErrorString(gif->Error));
                    break;
                }
            }
        }
        break;
    }
    DGifCloseFile(gif, &error);
    if (status != CLIP_OK) {
        clip_image_free(out);
    }
    return status;
}
