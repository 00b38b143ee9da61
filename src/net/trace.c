/* A frame log for looking into slow transfers: with HOSTEL_NET_TRACE=PATH
 * a backend writes one line per frame it passes, either way, with the time,
 * the length and (for TCP) what a tcpdump would show: ports, flags,
 * sequence and acknowledgement numbers, the advertised window and the
 * payload length.  Lines are text so that a script can sum them up. */
#include "net/trace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct net_trace {
    FILE *f;
    int64_t t0_ns;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct net_trace *net_trace_open(const char *what)
{
    const char *path = getenv("HOSTEL_NET_TRACE");
    if (!path || !*path)
        return NULL;
    struct net_trace *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->f = fopen(path, "ae");
    if (!t->f) {
        /* Run as root, the VMM is in its jail by now, which shows only
         * the machine's own files. */
        fprintf(stderr, "hostel: HOSTEL_NET_TRACE: cannot open %s (%s); no frame log (as "
                "root, the VMM's jail hides the host's files: HOSTEL_JAIL_USER=off)\n", path,
                strerror(errno));
        free(t);
        return NULL;
    }
    t->t0_ns = mono_ns();
    fprintf(t->f, "# hostel frame log (%s) from CLOCK_MONOTONIC %lld ns: usec dir len [tcp "
            "src>dst flags seq ack win payload]; dir 'in' is to the guest\n", what,
            (long long)t->t0_ns);
    return t;
}

void net_trace_close(struct net_trace *t)
{
    if (!t)
        return;
    fclose(t->f);
    free(t);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The TCP part of a line, from the IPv4 header at ip (n bytes to the
 * frame's end); empty when the frame is not IPv4 TCP. */
static void describe_tcp(const uint8_t *ip, size_t n, char *out, size_t cap)
{
    out[0] = 0;
    if (n < 20 || (ip[0] >> 4) != 4 || ip[9] != 6)
        return;
    size_t ihl = (size_t)(ip[0] & 15) * 4, total = be16(ip + 2);
    if (ihl < 20 || total > n || total < ihl + 20)
        return;
    const uint8_t *tcp = ip + ihl;
    size_t doff = (size_t)(tcp[12] >> 4) * 4;
    if (doff < 20 || ihl + doff > total)
        return;
    static const char names[] = "FSRPAU";
    char flags[8];
    int k = 0;
    for (int i = 0; i < 6; i++)
        if (tcp[13] & (1 << i))
            flags[k++] = names[i];
    flags[k] = 0;
    snprintf(out, cap, " tcp %u>%u %s %u %u %u %zu", be16(tcp), be16(tcp + 2), k ? flags : ".",
             be32(tcp + 4), be32(tcp + 8), be16(tcp + 14), total - ihl - doff);
}

void net_trace_frame(struct net_trace *t, bool to_guest, const uint8_t *frame, size_t len)
{
    if (!t)
        return;
    char tcp[96] = "";
    if (len >= 14 + 20 && be16(frame + 12) == 0x0800)
        describe_tcp(frame + 14, len - 14, tcp, sizeof(tcp));
    else if (len >= 14 && be16(frame + 12) == 0x0806)
        snprintf(tcp, sizeof(tcp), " arp");
    fprintf(t->f, "%lld %s %zu%s\n", (long long)((mono_ns() - t->t0_ns) / 1000),
            to_guest ? "in" : "out", len, tcp);
}

void net_trace_note(struct net_trace *t, const char *what)
{
    if (!t)
        return;
    fprintf(t->f, "%lld note %s\n", (long long)((mono_ns() - t->t0_ns) / 1000), what);
}
