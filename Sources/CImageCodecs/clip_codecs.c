#include "clip_codecs.h"
int clip_codecs_placeholder(void) { return 0; }
