#include "clip_zlib.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int clip_gunzip(const unsigned char *input, size_t inputLength, unsigned char **out, size_t *outLength) {
    z_stream s;
    memset(&s, 0, sizeof s);
    // 16 + MAX_WBITS: expect a gzip header.
    int rc = inflateInit2(&s, 16 + MAX_WBITS);
    if (rc != Z_OK) return rc;
    size_t cap = inputLength * 4 + 1024, len = 0;
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
        len = cap - s.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END) { free(buf); inflateEnd(&s); return rc < 0 ? rc : Z_DATA_ERROR; }
    } while (rc != Z_STREAM_END);
    inflateEnd(&s);
    *out = buf;
    *outLength = len;
    return 0;
}
