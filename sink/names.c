/* names.c — safe file names from names on the wire. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "names.h"

static bool safe_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

bool swmrbus__name_acceptable(swmrbus_str name)
{
    if (!name.ptr || name.len == 0 || name.len > SWMRBUS_NAME_MAX) return false;
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) return false;
        if (c == '.' && i + 1 < name.len && name.ptr[i + 1] == '.') return false;
    }
    return true;
}

void swmrbus__name_sanitise(swmrbus_str name, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < name.len && n + 1 < outlen; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        char keep = (char)(safe_char(c) && !(c == '.' && n == 0) ? c : '_');
        out[n++] = keep;
    }
    if (n == 0) out[n++] = '_';
    out[n] = '\0';
}

bool swmrbus__name_expand(const char *tmpl, const char *name, uint64_t series, char *out,
                          size_t outlen)
{
    size_t n = 0;
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)series);
    for (const char *p = tmpl; *p; p++) {
        const char *add = NULL;
        if (strncmp(p, "{name}", 6) == 0) {
            add = name;
            p += 5;
        } else if (strncmp(p, "{series}", 8) == 0) {
            add = num;
            p += 7;
        }
        if (add) {
            size_t l = strlen(add);
            if (n + l >= outlen) return false;
            memcpy(out + n, add, l);
            n += l;
        } else {
            if (n + 1 >= outlen) return false;
            out[n++] = (*p == '/' || (unsigned char)*p < 0x20) ? '_' : *p;
        }
    }
    if (n == 0 || n >= outlen) return false;
    out[n] = '\0';
    if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0) out[0] = '_';
    return true;
}

bool swmrbus__name_free_path(const char *dir, const char *file, char *out, size_t outlen,
                             bool *renamed)
{
    size_t flen = strlen(file);
    size_t stem = flen;
    if (flen > 3 && strcmp(file + flen - 3, ".h5") == 0) stem = flen - 3;
    struct stat st;
    for (unsigned k = 0; k < 10000; k++) {
        int w;
        if (k == 0)
            w = snprintf(out, outlen, "%s/%s", dir, file);
        else
            w = snprintf(out, outlen, "%s/%.*s_%u%s", dir, (int)stem, file, k, file + stem);
        if (w < 0 || (size_t)w >= outlen) return false;
        if (lstat(out, &st) != 0) {
            *renamed = k > 0;
            return true;
        }
    }
    return false;
}
