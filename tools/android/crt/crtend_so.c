/* Hush: stand-in for the NDK's crtend_so.o; the real one only closes the
 * .init_array/.fini_array bookkeeping and adds a GNU stack note. */
