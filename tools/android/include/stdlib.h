/* Hush minimal Android libc headers. See README.md. */
#ifndef HUSH_STDLIB_H
#define HUSH_STDLIB_H
#include "bionic_common.h"
__HUSH_BEGIN_DECLS
void* malloc(size_t size);
void* realloc(void* p, size_t size);
void free(void* p);
void qsort(void* base, size_t n, size_t size, int (*cmp)(const void*, const void*));
char* getenv(const char* name);
__HUSH_END_DECLS
#endif
