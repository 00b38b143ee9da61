# Block layer: libraries for compressed qcow2 clusters (its fuzz target is in tests/fuzz/fuzz.mk).
LDLIBS += -lz -lzstd

