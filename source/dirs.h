/* source/dirs.h — a set of canonical directories and the check that a file
 * lies inside one of them (used by the source and by swmrbus_reader). */
#ifndef SWMRBUS_SOURCE_DIRS_H
#define SWMRBUS_SOURCE_DIRS_H

#include <stdbool.h>
#include <stddef.h>

#include "swmrbus/err.h"

/* realpath of dir into out (PATH_MAX bytes); a dir that does not exist yet
 * is resolved as far as it exists and the rest appended. False (errno set
 * when the system said why) when it cannot be resolved. */
bool swmrbus__dirs_canonical(const char *dir, char *out);

/* Resolves file (realpath into real, PATH_MAX bytes) and checks it lies
 * below one of the n_dirs canonical dirs; nothing but realpath touches the
 * file. OK: inside. EINVAL: not inside (why says where it leads). EIO: it
 * does not exist (yet); when !must_exist a missing file whose directory is
 * inside is OK (real: that directory's realpath and the name). */
swmrbus_err swmrbus__dirs_check(char *const *dirs, size_t n_dirs, const char *file,
                                bool must_exist, char *real, char *why, size_t whylen);

#endif
