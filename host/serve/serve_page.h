/* The draw-a-digit page (host/serve/serve_page.html), embedded at build time by
 * cmake/embed_file.cmake. */
#ifndef MNISTCL_SERVE_PAGE_H
#define MNISTCL_SERVE_PAGE_H

#include <stddef.h>

extern const char serve_page_html[];   /* the file's bytes, then a NUL */
extern const size_t serve_page_html_len; /* its length without the NUL */

#endif
