/* sink/names.h — file names from the wire, made safe (internal).
 *
 * Names from the wire never leave the sink's directory: a name with '/',
 * "..", NUL or a control character is refused; other characters outside
 * [A-Za-z0-9._-] become '_'. Files are created next to nothing: an existing
 * name (a file, a directory or a symlink, dangling or not) is never reused. */
#ifndef SWMRBUS_SINK_NAMES_H
#define SWMRBUS_SINK_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/wire.h"

/* True when name may be used: not empty, no '/', no "..", no NUL, no
 * control character, at most SWMRBUS_NAME_MAX bytes. */
bool swmrbus__name_acceptable(swmrbus_str name);

/* Copies name into out (outlen >= 2) with every byte outside [A-Za-z0-9._-]
 * replaced by '_' and leading dots replaced by '_'. Never empty: "_". */
void swmrbus__name_sanitise(swmrbus_str name, char *out, size_t outlen);

/* Expands the file template ("{name}" and "{series}") into a bare file name
 * (no directory part: any '/' becomes '_'). name must be sanitised. Returns
 * false when the result does not fit in outlen. */
bool swmrbus__name_expand(const char *tmpl, const char *name, uint64_t series, char *out,
                          size_t outlen);

/* Picks the first of "dir/file", "dir/file_1.h5", "dir/file_2.h5", ... (the
 * suffix goes before a trailing ".h5") that does not exist (lstat), writes
 * the absolute path to out and sets *renamed when a suffix was needed.
 * dir must be absolute and canonical. Returns false when no free name is
 * found within 10000 tries or the path does not fit. */
bool swmrbus__name_free_path(const char *dir, const char *file, char *out, size_t outlen,
                             bool *renamed);

#endif
