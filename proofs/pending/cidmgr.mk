# Connection ID manager (src/transport/cidmgr.c, with the src/core/cid.c functions it calls).
# Pending: Eva passes the gate (43/43 functions, every statement, no alarm); WP had not closed every
# goal when this was written (see the blk branch report). Work on it with
#   VQ_WP_PAR=1 VQ_WP_CACHE_DIR=.wpcache make prove PROVE_PENDING=1 PROVE_ONLY=cidmgr
# and move this file to proofs/modules/ once it passes.
PROVE_MODULES += cidmgr
PROVE_SRCS_cidmgr = src/transport/cidmgr.c src/core/cid.c
