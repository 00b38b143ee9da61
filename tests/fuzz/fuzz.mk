# The virtqueue fuzzer (libFuzzer, needs clang): `make fuzz-virtq` builds
# and runs it for FUZZ_SECONDS; the binary is also built with the tests when
# clang is present, so `make test-all` can run it briefly.
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_VIRTQ_SRCS := tests/fuzz/fuzz_virtq.c src/hw/virtio/virtqueue.c src/machine/mem.c

ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
TEST_BINS += $(FUZZ_OUT)/fuzz_virtq
endif

.PHONY: fuzz-virtq
fuzz-virtq: $(FUZZ_OUT)/fuzz_virtq
	@mkdir -p $(FUZZ_OUT)/corpus-virtq
	$(FUZZ_OUT)/fuzz_virtq -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(FUZZ_OUT)/corpus-virtq

$(FUZZ_OUT)/fuzz_virtq: $(FUZZ_VIRTQ_SRCS) src/hw/virtio/virtqueue.h src/machine/mem.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -g -O1 -Wall -Wextra -Werror -Isrc -D_GNU_SOURCE \
	  -fsanitize=fuzzer,address,undefined -o $@ $(FUZZ_VIRTQ_SRCS)

# The shared-folder server's fuzzer: `make fuzz-share` (FUZZ_SECONDS).
FUZZ_SHARE_SRCS := tests/fuzz/fuzz_share.c src/share/server.c src/lib/err.c src/lib/iov.c
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
TEST_BINS += $(FUZZ_OUT)/fuzz_share
endif

.PHONY: fuzz-share
fuzz-share: $(FUZZ_OUT)/fuzz_share
	@mkdir -p $(FUZZ_OUT)/corpus-share
	$(FUZZ_OUT)/fuzz_share -max_total_time=$(FUZZ_SECONDS) -max_len=8192 $(FUZZ_OUT)/corpus-share

$(FUZZ_OUT)/fuzz_share: $(FUZZ_SHARE_SRCS) src/share/server.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -g -O1 -Wall -Wextra -Werror -Isrc -D_GNU_SOURCE \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ $(FUZZ_SHARE_SRCS)
