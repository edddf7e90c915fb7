#include <sndfile.h>

/* glibc's memfd_create (2.27+), declared here because Swift's Glibc module hides it behind
   _GNU_SOURCE: an anonymous file in memory that libsndfile can open by /proc/self/fd path. */
int memfd_create(const char *name, unsigned int flags);
static inline int mailvox_memfd_create(const char *name) { return memfd_create(name, 1U /* MFD_CLOEXEC */); }
