# Every fuzz target, one rule each (docs/security.md, "Fuzzing").  A target
# is tests/fuzz/fuzz_T.c defining LLVMFuzzerTestOneInput over the real
# sources listed in FUZZ_T_SRCS; it is built twice:
#   $(FUZZ_OUT)/fuzz_T    clang, libFuzzer + ASan + UBSan (where clang is)
#   $(FUZZ_OUT)/replay_T  gcc, ASan + UBSan, with tests/fuzz/replay_main.c:
#                         runs every file of a directory once (make test's
#                         replay of tests/fuzz/corpus/T, clang or not)
# `make fuzz` runs every target for FUZZ_SECONDS on its corpus, `make
# fuzz-T` one; new interesting inputs land in $(FUZZ_OUT)/corpus-T (merge
# them into the repo's corpus with -merge=1, see docs/security.md).
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_CC      ?= clang
FUZZ_GCC     ?= gcc
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?= -close_fd_mask=2
FUZZ_CFLAGS   = -std=gnu11 -g -O1 -Wall -Wextra -Werror -Isrc -Itests/unit -Itests/fuzz -D_GNU_SOURCE \
                -DHOSTEL_FUZZ $(filter -DHOSTEL_HAVE_%,$(CFLAGS)) -fno-omit-frame-pointer \
                -Wno-missing-field-initializers
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LDLIBS   = $(LDLIBS) -lz -lzstd -lslirp
FUZZ_DEPS    := $(shell find src -name '*.h') $(wildcard tests/fuzz/*.h) tests/unit/dev_harness.h \
                tests/unit/virtio_test_driver.h tests/unit/virtq_driver.h tests/unit/loader_images.h \
                tests/fuzz/fuzz.mk
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)

FUZZ_TARGETS :=

# The split virtqueue parser alone (descriptor table, rings, indirect tables).
FUZZ_TARGETS += virtq
FUZZ_virtq_SRCS   := src/hw/virtio/virtqueue.c src/machine/mem.c
FUZZ_virtq_MAXLEN := 24576

# The shared-folder server's FUSE request parser (virtio-fs requests).
FUZZ_TARGETS += share
FUZZ_share_SRCS   := src/share/server.c src/lib/err.c src/lib/iov.c
FUZZ_share_MAXLEN := 8192

# A hostile qcow2 image: header, L1/L2/refcount tables, then reads, writes, check.
FUZZ_TARGETS += qcow2
FUZZ_qcow2_SRCS   := $(wildcard src/block/*.c) src/lib/err.c src/lib/iov.c src/lib/jail.c
FUZZ_qcow2_MAXLEN := 200000

# The virtio devices' request parsers, over the real PCI transport
# (tests/fuzz/fuzz_virtio.h; each target includes its device's .c file).
FUZZ_VIRTIO_SRCS := src/hw/virtio/virtio_pci.c src/hw/virtio/virtqueue.c src/hw/pci.c \
                    src/machine/mem.c src/machine/bus.c src/lib/err.c src/lib/log.c src/lib/state.c \
                    src/lib/sandbox.c src/lib/iov.c src/lib/ratelimit.c src/machine/timer.c src/lib/size.c \
                    src/lib/jail.c
FUZZ_TARGETS += blk
FUZZ_blk_SRCS   := $(FUZZ_VIRTIO_SRCS) $(filter-out src/block/copy.c,$(wildcard src/block/*.c))
FUZZ_blk_MAXLEN := 16384
FUZZ_TARGETS += rng
FUZZ_rng_SRCS   := $(FUZZ_VIRTIO_SRCS)
FUZZ_rng_MAXLEN := 4096
FUZZ_TARGETS += console
FUZZ_console_SRCS   := $(FUZZ_VIRTIO_SRCS) src/host/chardev.c src/lib/home.c
FUZZ_console_MAXLEN := 8192
FUZZ_TARGETS += net
FUZZ_net_SRCS   := $(FUZZ_VIRTIO_SRCS) $(wildcard src/net/*.c) src/lib/home.c
FUZZ_net_MAXLEN := 16384
FUZZ_TARGETS += scsi
FUZZ_scsi_SRCS   := $(FUZZ_blk_SRCS) src/hw/scsi_cd.c
FUZZ_scsi_MAXLEN := 16384

# PCI config cycles and BAR placement, and the virtio-pci registers behind.
FUZZ_TARGETS += pci
FUZZ_pci_SRCS   := $(FUZZ_blk_SRCS) src/hw/virtio/blk.c src/hw/virtio/rng.c
FUZZ_pci_MAXLEN := 4096

# The kernel loaders: bzImage, ELF64/PVH, Multiboot.
FUZZ_TARGETS += loader
FUZZ_loader_SRCS   := $(wildcard src/boot/*.c) src/board/e820.c src/machine/mem.c src/lib/err.c \
                      src/lib/log.c src/engine/cpu_state.c
FUZZ_loader_MAXLEN := 65536

# The control socket: framing, JSON parsing and dispatch (no machine).
FUZZ_TARGETS += control
FUZZ_control_SRCS   := src/mgmt/control.c src/lib/err.c src/lib/log.c src/lib/sandbox.c src/lib/jail.c
FUZZ_control_MAXLEN := 70000

# Targets over a whole machine list the parsers they fuzz as sources (those
# are instrumented: coverage and sanitizers) and take the rest of hostel
# from libhostel.a (FUZZ_T_LIB; its members for the listed files are never
# pulled in, the listed objects define their symbols first).
FUZZ_LOADER_SRCS := src/board/snapfile.c src/board/snapshot.c src/board/spec.c src/board/board.c \
                    $(wildcard src/hw/*.c) $(wildcard src/hw/virtio/*.c) src/lib/state.c \
                    src/machine/irqstate.c src/engine/vcpu_snap.c src/engine/cpu_state.c
# Snapshot state files: container, spec, every section loader.
FUZZ_TARGETS += snapshot
FUZZ_snapshot_SRCS   := $(FUZZ_LOADER_SRCS)
FUZZ_snapshot_LIB    := $(BUILD)/libhostel.a
FUZZ_snapshot_MAXLEN := 65536
# The live migration receiver: framing, HELLO, RAM/disk/state batches (the
# target includes migrate_in.c).
FUZZ_TARGETS += migrate
FUZZ_migrate_SRCS   := $(FUZZ_LOADER_SRCS) src/board/migrate_wire.c src/board/migrate.c src/engine/cpuid_model.c
FUZZ_migrate_LIB    := $(BUILD)/libhostel.a
FUZZ_migrate_MAXLEN := 65536
# Appliance archives: unpacking (libarchive) and the manifest inside.
FUZZ_TARGETS += archive
FUZZ_archive_SRCS   := src/mgmt/appliance.c src/board/spec.c
FUZZ_archive_LIB    := $(BUILD)/libhostel.a
FUZZ_archive_MAXLEN := 65536

define FUZZ_TARGET_RULES
$$(FUZZ_OUT)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_$(1)_SRCS) $$(FUZZ_$(1)_LIB) $$(FUZZ_DEPS)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -Wno-unknown-warning-option -fsanitize=fuzzer $$(FUZZ_SAN) -o $$@ \
	  tests/fuzz/fuzz_$(1).c $$(FUZZ_$(1)_SRCS) $$(FUZZ_$(1)_LIB) $$(FUZZ_LDLIBS)

$$(FUZZ_OUT)/replay_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/replay_main.c $$(FUZZ_$(1)_SRCS) $$(FUZZ_$(1)_LIB) $$(FUZZ_DEPS)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_GCC) $$(FUZZ_CFLAGS) $$(FUZZ_SAN) -o $$@ \
	  tests/fuzz/replay_main.c tests/fuzz/fuzz_$(1).c $$(FUZZ_$(1)_SRCS) $$(FUZZ_$(1)_LIB) $$(FUZZ_LDLIBS)

.PHONY: fuzz-$(1)
fuzz-$(1): $$(FUZZ_OUT)/fuzz_$(1)
	@mkdir -p $$(FUZZ_OUT)/corpus-$(1)
	cd $$(FUZZ_OUT) && ./fuzz_$(1) -max_total_time=$$(FUZZ_SECONDS) -max_len=$$(FUZZ_$(1)_MAXLEN) \
	  -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 $$(FUZZ_FLAGS) \
	  corpus-$(1) $$(abspath tests/fuzz/corpus/$(1))

TEST_BINS += $$(FUZZ_OUT)/replay_$(1)
ifneq ($$(HAVE_FUZZ_CC),)
TEST_BINS += $$(FUZZ_OUT)/fuzz_$(1)
endif
endef

.PHONY: fuzz
fuzz: $(addprefix fuzz-,$(FUZZ_TARGETS))

$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULES,$(t))))
