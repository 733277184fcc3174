/* swmrbus/export.h — symbol visibility. The shared library is built with
 * hidden visibility; only declarations marked SWMRBUS_API are exported. */
#ifndef SWMRBUS_EXPORT_H
#define SWMRBUS_EXPORT_H
#if defined(SWMRBUS_BUILDING) && defined(__GNUC__)
#define SWMRBUS_API __attribute__((visibility("default")))
#else
#define SWMRBUS_API
#endif
#endif
