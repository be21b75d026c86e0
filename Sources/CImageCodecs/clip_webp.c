// WebP through libwebp. Pillow 11.0.0 (_webp.c) decodes with WebPAnimDecoder in RGBA and
// calls the image "RGB" when the bitstream has no alpha; for a still image that is the same
// as WebPDecodeRGBA. Animated files are refused (we would need the first frame composited).
#include "clip_common.h"

#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>

int clip_webp_decode(const uint8_t *data, size_t size, clip_decode_limits limits, clip_image *out) {
    WebPBitstreamFeatures features;
    memset(out, 0, sizeof *out);
    VP8StatusCode code = WebPGetFeatures(data, size, &features);
    if (code == VP8_STATUS_NOT_ENOUGH_DATA) {
        return clip_fail(out, CLIP_ERR_TRUNCATED, "WebP header is incomplete");
    }
    if (code != VP8_STATUS_OK) {
        return clip_fail(out, CLIP_ERR_CORRUPT, "not a valid WebP bitstream (status %d)", (int)code);
    }
    if (features.has_animation) {
        return clip_fail(out, CLIP_ERR_UNSUPPORTED, "animated WebP");
    }
    int status = clip_check_size(out, (uint64_t)features.width, (uint64_t)features.height, limits);
    if (status != CLIP_OK) {
        return status;
    }
    out->width = features.width;
    out->height = features.height;
    int bytes = features.has_alpha ? 4 : 3;
    out->mode = features.has_alpha ? CLIP_MODE_RGBA : CLIP_MODE_RGB;
    if (!clip_alloc_pixels(out, (size_t)bytes)) {
        return clip_fail(out, CLIP_ERR_NO_MEMORY, "out of memory");
    }
    size_t stride = (size_t)features.width * (size_t)bytes;
    size_t total = stride * (size_t)features.height;
    uint8_t *result = features.has_alpha
        ? WebPDecodeRGBAInto(data, size, out->pixels, total, (int)stride)
        : WebPDecodeRGBInto(data, size, out->pixels, total, (int)stride);
    if (!result) {
        clip_image_free(out);
        // libwebp does not say why; a short buffer is the common reason.
        return clip_fail(out, CLIP_ERR_CORRUPT, "WebP image data is truncated or corrupt");
    }
    return CLIP_OK;
}
