#include "clip_zlib.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int clip_gunzip(const unsigned char *input, size_t inputLength, unsigned char **out, size_t *outLength) {
    return clip_gunzip_lines(input, inputLength, 0, out, outLength);
}

static size_t count_newlines(const unsigned char *p, size_t n) {
    size_t lines = 0;
    const unsigned char *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

int clip_gunzip_lines(const unsigned char *input, size_t inputLength, size_t maxLines, unsigned char **out,
                      size_t *outLength) {
    z_stream s;
    memset(&s, 0, sizeof s);
    // 16 + MAX_WBITS: expect a gzip header.
    int rc = inflateInit2(&s, 16 + MAX_WBITS);
    if (rc != Z_OK) return rc;
    size_t cap = inputLength * 4 + 1024, len = 0, lines = 0;
    // A line prefix needs far less room than the whole stream: grow from a small buffer.
    if (maxLines > 0 && cap > 65536) cap = 65536;
    unsigned char *buf = malloc(cap);
    if (!buf) { inflateEnd(&s); return Z_MEM_ERROR; }
    s.next_in = (unsigned char *)input;
    s.avail_in = (uInt)inputLength;
    do {
        if (len == cap) {
            cap *= 2;
            unsigned char *grown = realloc(buf, cap);
            if (!grown) { free(buf); inflateEnd(&s); return Z_MEM_ERROR; }
            buf = grown;
        }
        s.next_out = buf + len;
        s.avail_out = (uInt)(cap - len);
        rc = inflate(&s, Z_NO_FLUSH);
        size_t before = len;
        len = cap - s.avail_out;
        if (maxLines > 0 && rc == Z_OK) {
            lines += count_newlines(buf + before, len - before);
            if (lines >= maxLines) break;
        }
        if (rc != Z_OK && rc != Z_STREAM_END) { free(buf); inflateEnd(&s); return rc < 0 ? rc : Z_DATA_ERROR; }
    } while (rc != Z_STREAM_END);
    inflateEnd(&s);
    *out = buf;
    *outLength = len;
    return 0;
}

int clip_inflate_raw(const unsigned char *input, size_t input_length, unsigned char *out, size_t capacity,
                     size_t *written, const char **reason) {
    z_stream s;
    memset(&s, 0, sizeof s);
    *written = 0;
    if (reason) *reason = NULL;
    // Negative window bits: a raw stream, no zlib or gzip wrapper (zip's method 8).
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) {
        if (reason) *reason = "zlib could not start";
        return CLIP_INFLATE_INVALID;
    }
    // zlib counts in uInt: feed and drain in chunks so records past 4 GiB stay correct.
    const size_t chunk = (size_t)1 << 30;
    size_t in_left = input_length, out_left = capacity;
    s.next_in = (unsigned char *)input;
    s.next_out = out;
    int rc;
    for (;;) {
        if (s.avail_in == 0 && in_left > 0) {
            s.avail_in = (uInt)(in_left < chunk ? in_left : chunk);
            in_left -= s.avail_in;
        }
        if (s.avail_out == 0 && out_left > 0) {
            s.avail_out = (uInt)(out_left < chunk ? out_left : chunk);
            out_left -= s.avail_out;
        }
        // Z_OK: progress was made; call again (with no room left too: zlib may still reach
        // the end of the stream, or report Z_BUF_ERROR because more output is pending).
        rc = inflate(&s, Z_NO_FLUSH);
        if (rc != Z_OK) break;
    }
    *written = (size_t)(s.next_out - out);
    int outcome;
    if (rc == Z_STREAM_END) {
        outcome = CLIP_INFLATE_OK;
    } else if (rc == Z_BUF_ERROR && s.avail_in == 0 && in_left == 0) {
        outcome = CLIP_INFLATE_TRUNCATED;
    } else if (rc == Z_BUF_ERROR) {
        outcome = CLIP_INFLATE_TOO_LARGE;
    } else {
        if (reason) *reason = rc == Z_MEM_ERROR ? "out of memory" : s.msg ? s.msg : "invalid deflate data";
        outcome = CLIP_INFLATE_INVALID;
    }
    inflateEnd(&s);
    return outcome;
}

unsigned int clip_crc32(const unsigned char *data, size_t length) {
    uLong crc = crc32(0L, Z_NULL, 0);
    // crc32 takes a uInt length: large records go in chunks.
    const size_t chunk = (size_t)1 << 30;
    while (length > 0) {
        const uInt n = (uInt)(length < chunk ? length : chunk);
        crc = crc32(crc, data, n);
        data += n;
        length -= n;
    }
    return (unsigned int)crc;
}
