/* Hush minimal Android libc headers. See README.md. */
#ifndef HUSH_STRING_H
#define HUSH_STRING_H
#include "bionic_common.h"
__HUSH_BEGIN_DECLS
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memchr(const void* s, int c, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
size_t strspn(const char* s, const char* accept);
size_t strcspn(const char* s, const char* reject);
char* strchr(const char* s, int c);
char* strrchr(const char* s, int c);
__HUSH_END_DECLS
#endif
