/* Hush minimal Android libc headers. See README.md. */
#ifndef HUSH_MATH_H
#define HUSH_MATH_H
#include "bionic_common.h"
__HUSH_BEGIN_DECLS
#define isnan(x) __builtin_isnan(x)
#define INFINITY __builtin_inff()
double log(double x);
double fabs(double x);
__HUSH_END_DECLS
#endif
