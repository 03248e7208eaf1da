/* Hush minimal Android libc headers. See README.md. */
#ifndef HUSH_TIME_H
#define HUSH_TIME_H
#include <sys/types.h>
#include <linux/time.h>   /* struct timespec, struct timeval, CLOCK_* */
__HUSH_BEGIN_DECLS
struct tm {
  int tm_sec;
  int tm_min;
  int tm_hour;
  int tm_mday;
  int tm_mon;
  int tm_year;
  int tm_wday;
  int tm_yday;
  int tm_isdst;
  long tm_gmtoff;
  const char* tm_zone;
};
time_t time(time_t* t);
struct tm* localtime_r(const time_t* t, struct tm* out);
int nanosleep(const struct timespec* req, struct timespec* rem);
__HUSH_END_DECLS
#endif
