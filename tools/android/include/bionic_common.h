/* Hush minimal Android libc headers: shared basics. See README.md. */
#ifndef HUSH_BIONIC_COMMON_H
#define HUSH_BIONIC_COMMON_H
#if !defined(__ANDROID__) || !defined(__LP64__)
#error "tools/android/include supports only 64-bit Android targets (--target=aarch64-linux-android26, x86_64-linux-android26)"
#endif
#if !defined(__aarch64__) && !defined(__x86_64__)
#error "tools/android/include: unsupported architecture"
#endif
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
#define __HUSH_BEGIN_DECLS extern "C" {
#define __HUSH_END_DECLS }
#else
#define __HUSH_BEGIN_DECLS
#define __HUSH_END_DECLS
#endif
#endif
