package ingest

/*
#include <malloc.h>

static size_t coffre_c_heap(void) {
	struct mallinfo2 m = mallinfo2();
	return m.uordblks + m.hblkhd;
}
*/
import "C"

// cHeapInUse is the C heap in use, all threads' arenas and mmapped blocks
// (glibc's mallinfo2): libheif and libjpeg-turbo allocate there, out of
// sight of Go's heap metrics. The tests that check the memory cost model
// (bytesPerPixel, TestCostCovers) add it to Go's heap.
func cHeapInUse() uint64 {
	return uint64(C.coffre_c_heap())
}
