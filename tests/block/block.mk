# Block layer: libraries for compressed qcow2 clusters, and the fuzz target.
LDLIBS += -lz -lzstd
