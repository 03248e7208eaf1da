/* Hush minimal Android libc headers. See README.md. */
#ifndef HUSH_SYS_TIME_H
#define HUSH_SYS_TIME_H
#include <time.h>
__HUSH_BEGIN_DECLS
int utimes(const char* path, const struct timeval times[2]);
int gettimeofday(struct timeval* tv, struct timezone* tz);
__HUSH_END_DECLS
#endif
