/* Hush minimal Android libc headers. See README.md.
 * SQLite defines NDEBUG itself unless SQLITE_DEBUG. */
#include "bionic_common.h"
#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
__HUSH_BEGIN_DECLS
void __assert2(const char* file, int line, const char* func, const char* expr) __attribute__((__noreturn__));
__HUSH_END_DECLS
#define assert(e) ((e) ? (void)0 : __assert2(__FILE__, __LINE__, __func__, #e))
#endif
