// zlib for bundled resources (the gzip'd BPE merges file) and zip records (raw DEFLATE, CRC-32).
// No public API.
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

/// Outcomes of clip_inflate_raw.
enum { CLIP_INFLATE_OK = 0, CLIP_INFLATE_TRUNCATED = 1, CLIP_INFLATE_TOO_LARGE = 2, CLIP_INFLATE_INVALID = 3 };

/// Inflates one raw DEFLATE stream (zip method 8) into out[0, capacity), never writing past it.
/// Sets *written to the bytes produced. CLIP_INFLATE_OK: the stream ended; TRUNCATED: the input
/// ended first; TOO_LARGE: the stream holds more than `capacity` bytes; INVALID: malformed data,
/// with zlib's reason (a static string) in *reason when reason is not NULL.
int clip_inflate_raw(const unsigned char *input, size_t input_length, unsigned char *out, size_t capacity,
                     size_t *written, const char **reason);

/// CRC-32 (IEEE 802.3, as zip and gzip use) of `length` bytes.
unsigned int clip_crc32(const unsigned char *data, size_t length);

#endif
