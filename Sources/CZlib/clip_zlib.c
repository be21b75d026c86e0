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
