/* x86-64-v3 workload: single- and double-precision matrix multiplies that
 * gcc -O2 -march=x86-64-v3 turns into vfmadd on ymm registers (fused: one
 * rounding per step, so the results are compared bit for bit), printed in
 * hex floating point.  Usage: matmul [n]  (a multiple of 16; default 96) */
#include <stdio.h>
#include <stdlib.h>

/* Rows are computed in blocks of BW columns kept in a local accumulator:
 * a fixed trip count that gcc's -O2 vectoriser accepts, no aliasing. */
#define BW 16
#define DEFINE_MM(name, T)                                                 \
    static void name(int n, const T *a, const T *b, T *c)                  \
    {                                                                      \
        for (int i = 0; i < n; i++)                                        \
            for (int jb = 0; jb < n; jb += BW) {                           \
                T acc[BW] = { 0 };                                         \
                for (int k = 0; k < n; k++) {                              \
                    T aik = a[i * n + k];                                  \
                    const T *bk = b + k * n + jb;                          \
                    for (int j = 0; j < BW; j++)                           \
                        acc[j] += aik * bk[j];                             \
                }                                                          \
                for (int j = 0; j < BW; j++)                               \
                    c[i * n + jb + j] = acc[j];                            \
            }                                                              \
    }
DEFINE_MM(mm_f, float)
DEFINE_MM(mm_d, double)

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 96;
    if (n < BW || n > 2048 || n % BW) {
        fprintf(stderr, "matmul: n must be a multiple of %d from %d to 2048\n", BW, BW);
        return 2;
    }
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    double *ad = malloc(sizeof(double) * n * n), *bd = malloc(sizeof(double) * n * n), *cd = malloc(sizeof(double) * n * n);
    if (!a || !b || !c || !ad || !bd || !cd) return 1;
    unsigned x = 12345;
    for (int i = 0; i < n * n; i++) {
        x = x * 1103515245u + 12345u;
        a[i] = (float)((int)(x >> 8) % 2001 - 1000) / 137.0f;
        x = x * 1103515245u + 12345u;
        b[i] = (float)((int)(x >> 8) % 2001 - 1000) / 59.0f;
        ad[i] = a[i] / 3.0;
        bd[i] = b[i] * 1.0000001;
    }
    mm_f(n, a, b, c);
    mm_d(n, ad, bd, cd);
    double sf = 0, sd = 0;
    for (int i = 0; i < n * n; i++) {
        sf += c[i];
        sd += cd[i];
    }
    printf("n %d float sum %a c[0] %a c[last] %a\n", n, sf, (double)c[0], (double)c[n * n - 1]);
    printf("n %d double sum %a c[0] %a c[mid] %a\n", n, sd, cd[0], cd[n * n / 2]);
    for (int i = 0; i < n; i += n / 8 + 1)
        printf("row %d: %a %a\n", i, (double)c[i * n + i], cd[i * n + (n - 1 - i)]);
    return 0;
}
