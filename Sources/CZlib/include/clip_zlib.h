// gzip decompression for bundled resources (the BPE merges file). No public API.
#ifndef CLIP_ZLIB_H
#define CLIP_ZLIB_H
#include <stddef.h>

/// Inflates a whole gzip stream. On success returns 0 and sets *out (malloc'd, caller frees)
/// and *outLength; returns a negative zlib error code on failure.
int clip_gunzip(const unsigned char *input, size_t inputLength, unsigned char **out, size_t *outLength);

/// Like clip_gunzip, but stops once the output holds at least `maxLines` newlines (0: the whole
/// stream). A prefix is not checked against the stream's CRC: use it for bundled data whose
/// integrity a test checks, and only the first `maxLines` lines of the output.
int clip_gunzip_lines(const unsigned char *input, size_t inputLength, size_t maxLines, unsigned char **out,
                      size_t *outLength);

#endif
