/* Hush minimal Android libc headers. See README.md.
 * Bionic exports stdin/stdout/stderr as FILE* variables since API 23. */
#ifndef HUSH_STDIO_H
#define HUSH_STDIO_H
#include "bionic_common.h"
#include <stdarg.h>
__HUSH_BEGIN_DECLS
#define FILENAME_MAX 4096
typedef struct __sFILE FILE;
extern FILE* stdin;
extern FILE* stdout;
extern FILE* stderr;
#define stdin stdin
#define stdout stdout
#define stderr stderr
__HUSH_END_DECLS
#endif
