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
