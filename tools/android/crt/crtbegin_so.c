/* Hush: stand-in for the NDK's crtbegin_so.o (no NDK on the build machine).
 *
 * A shared library on Android gets a hidden __dso_handle, which
 * __cxa_atexit/__cxa_thread_atexit_impl registrations use to name the
 * library, and a destructor running those registrations when the library is
 * unloaded (Bionic's crtbegin_so does the same through __cxa_finalize). */
extern void __cxa_finalize(void* dso);

__attribute__((visibility("hidden"))) void* __dso_handle = &__dso_handle;

__attribute__((destructor, used)) static void hush_crtbegin_fini(void) {
  __cxa_finalize(&__dso_handle);
}
