# Block layer: libraries for compressed qcow2 clusters, and the fuzz target.
LDLIBS += -lz -lzstd

# `make fuzz-qcow2`: the libFuzzer target over the block sources (needs clang).
FUZZ_CC ?= clang
BLOCK_FUZZ_SRCS := $(wildcard src/block/*.c) src/lib/err.c src/lib/iov.c
.PHONY: fuzz-qcow2
fuzz-qcow2: $(BUILD)/fuzz/fuzz_qcow2
$(BUILD)/fuzz/fuzz_qcow2: tests/block/fuzz_qcow2.c $(BLOCK_FUZZ_SRCS) $(wildcard src/block/*.h) src/lib/err.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -O1 -g -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ tests/block/fuzz_qcow2.c $(BLOCK_FUZZ_SRCS) -lz -lzstd -lpthread
