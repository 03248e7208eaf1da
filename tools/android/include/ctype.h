/* Hush minimal Android libc headers. See README.md. */
#ifndef HUSH_CTYPE_H
#define HUSH_CTYPE_H
#include "bionic_common.h"
/* SQLite includes <ctype.h> but, under the options used, calls none of it
 * (it has its own tables). */
#endif
