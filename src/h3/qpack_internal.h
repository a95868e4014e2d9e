/* vquic — QPACK internals shared by src/h3/qpack*.c. */
#ifndef VQ_QPACK_INTERNAL_H
#define VQ_QPACK_INTERNAL_H

#include "vquic/qpack.h"

extern const vq_qpack_static_entry vq_qpack_static[VQ_QPACK_STATIC_COUNT];

#endif
