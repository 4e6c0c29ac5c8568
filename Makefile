# spotgo_gss: SpotGo CarrierPortal and GoSweetSpot customer orders as SQL
#
# PGXS build.  Warning flags belong to the caller (scripts/test passes
# PG_CFLAGS="-Wall -Wextra -Wno-unused-parameter", plus -Werror under CI;
# PostgreSQL's own headers trip -Wunused-parameter), never to this file.

MODULE_big = spotgo_gss
OBJS = \
	src/spotgo_gss.o \
	src/options.o \
	src/http.o \
	src/json_rows.o \
	src/listing.o \
	src/fdw.o \
	src/fdw_modify.o \
	src/gss.o \
	src/spotgo.o \
	src/push.o \
	src/pinned.o \
	src/outbox_enqueue.o \
	src/outbox_payload.o \
	src/outbox_write.o \
	src/outbox_deliver.o \
	src/ratelimit.o \
	src/stats.o \
	src/worker.o

EXTENSION = spotgo_gss
DATA = spotgo_gss--0.1.0.sql spotgo_gss--0.1.0--0.2.0.sql
PGFILEDESC = "spotgo_gss - SpotGo and GoSweetSpot order APIs as SQL"

CURL_CONFIG ?= curl-config
PG_CPPFLAGS = -I$(srcdir)/src $(shell $(CURL_CONFIG) --cflags)
SHLIB_LINK = $(shell $(CURL_CONFIG) --libs)

# pg_regress starts its own cluster (tmp_regress; TAP owns tmp_check), so
# "make installcheck" needs no running server.  The sandbox API must be
# running: scripts/test starts it and exports SANDBOX_PORT and SANDBOX_CTL.
REGRESS = setup options gss spotgo outbox security sync failures stats fdw errors tls
REGRESS_OPTS = \
	--inputdir=$(srcdir) \
	--temp-config=$(srcdir)/test/regress.conf \
	--temp-instance=$(CURDIR)/tmp_regress

TAP_TESTS = 1
PROVE_TESTS = $(wildcard $(srcdir)/test/t/*.pl)

EXTRA_CLEAN = tmp_regress

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
