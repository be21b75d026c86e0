// C wrappers around libjpeg-turbo, libpng, libwebp and giflib. No public API.
#ifndef CLIP_CODECS_H
#define CLIP_CODECS_H
int clip_codecs_placeholder(void);
#endif
