#include <libetpan/libetpan.h>

// libetpan's list accessors are macros; Swift sees these inline functions instead.
static inline clistiter *cetpan_clist_begin(clist *list) { return clist_begin(list); }
static inline clistiter *cetpan_clist_next(clistiter *iter) { return clist_next(iter); }
static inline void *cetpan_clist_content(clistiter *iter) { return clist_content(iter); }
static inline int cetpan_clist_count(clist *list) { return clist_count(list); }
static inline int cetpan_clist_append(clist *list, void *data) { return clist_append(list, data); }

// carray accessors are macros too (the peer certificate chain of a TLS stream is a carray of
// MMAPString, one DER certificate each).
static inline unsigned int cetpan_carray_count(carray *array) { return carray_count(array); }
static inline void *cetpan_carray_get(carray *array, unsigned int index) { return carray_get(array, index); }
