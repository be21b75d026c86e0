// gzip decompression for bundled resources (the BPE merges file). No public API.
#ifndef CLIP_ZLIB_H
#define CLIP_ZLIB_H
#include <stddef.h>

/// Inflates a whole gzip stream. On success returns 0 and sets *out (malloc'd, caller frees)
/// and *outLength; returns a negative zlib error code on failure.
int clip_gunzip(const unsigned char *input, size_t inputLength, unsigned char **out, size_t *outLength);

#endif
