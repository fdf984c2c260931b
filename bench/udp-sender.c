/*
 * bench:udp's sender (BENCH_SENDER=c, the default): sends the datagrams of a file to
 * 127.0.0.1:PORT at RATE per second for SECS seconds — after WARM_SECS at WARM_RATE when
 * given, numbered on without a break — paced in 1 ms steps, with sendmmsg()
 * batches of consecutive datagrams of one exporter. Each round over the file renumbers the
 * sequence fields the file names (as the exporter would go on). Written in C because the
 * Node senders (one send() and one Buffer each) took most of a core of this 2-core machine
 * at 120,000/s — the core the receiver needs — while this one takes a fraction of it; what
 * is measured, podwire receiving, is unchanged. Only loopback: every socket sends to
 * 127.0.0.1, from 127.0.0.1 or the exporter's own 127.x address.
 *
 * File: u16 exporters, then per exporter u32 its IPv4 source (0: any); then per datagram
 * u8 exporter, u16 length, u8 fields, fields × (u16 offset, u32 base, u32 per-round step),
 * then the bytes. All big-endian. Prints "sent seconds warm" on stdout: datagrams sent in
 * all, the seconds of the RATE phase, and how many the warm phase sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FIELDS 16
#define BATCH 64

struct msg {
  uint8_t exporter, nfields;
  uint16_t len;
  uint16_t off[MAX_FIELDS];
  uint32_t base[MAX_FIELDS], step[MAX_FIELDS];
  uint8_t *bytes;
};

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n);
  if (fread(b, 1, *n, f) != *n) { perror("read"); exit(2); }
  fclose(f);
  return b;
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 7) { fprintf(stderr, "usage: udp-sender FILE PORT RATE SECS [WARM_RATE WARM_SECS]\n"); return 2; }
  size_t size;
  uint8_t *b = slurp(argv[1], &size), *p = b, *end = b + size;
  int port = atoi(argv[2]);
  double rate = atof(argv[3]), secs = atof(argv[4]);
  double wrate = argc == 7 ? atof(argv[5]) : 0, wsecs = argc == 7 ? atof(argv[6]) : 0;
  int nexp = be16(p); p += 2;
  int *socks = calloc(nexp, sizeof *socks);
  for (int e = 0; e < nexp; e++, p += 4) {
    socks[e] = socket(AF_INET, SOCK_DGRAM, 0);
    int sndbuf = 4 << 20;
    setsockopt(socks[e], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    uint32_t src = be32(p);
    if (src != 0) {
      struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(src)};
      if (bind(socks[e], (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 2; }
    }
  }
  size_t cap = 1024, n = 0;
  struct msg *msgs = malloc(cap * sizeof *msgs);
  while (p < end) {
    if (n == cap) msgs = realloc(msgs, (cap *= 2) * sizeof *msgs);
    struct msg *m = &msgs[n++];
    m->exporter = p[0];
    m->len = be16(p + 1);
    m->nfields = p[3];
    p += 4;
    if (m->nfields > MAX_FIELDS || m->exporter >= nexp) { fprintf(stderr, "bad file\n"); return 2; }
    for (int j = 0; j < m->nfields; j++, p += 10) {
      m->off[j] = be16(p);
      m->base[j] = be32(p + 2);
      m->step[j] = be32(p + 6);
    }
    m->bytes = p;
    p += m->len;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct mmsghdr hdr[BATCH];
  struct iovec iov[BATCH];
  long warm = (long)(wrate * wsecs), total = warm + (long)(rate * secs), i = 0;
  double t0 = now();
  while (i < total) {
    double t = now() - t0;
    long due = t < wsecs ? (long)(t * wrate) : warm + (long)((t - wsecs) * rate);
    if (due > total) due = total;
    while (i < due) {
      int k = 0, e = msgs[i % n].exporter;
      while (i < due && k < BATCH && msgs[i % n].exporter == e) {
        struct msg *m = &msgs[i % n];
        uint32_t r = (uint32_t)(i / (long)n);
        for (int j = 0; j < m->nfields; j++) {
          uint32_t v = htonl(m->base[j] + r * m->step[j]);
          memcpy(m->bytes + m->off[j], &v, 4);
        }
        iov[k] = (struct iovec){.iov_base = m->bytes, .iov_len = m->len};
        hdr[k] = (struct mmsghdr){.msg_hdr = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov[k], .msg_iovlen = 1}};
        k++;
        i++;
      }
      /* the bytes are copied by the kernel at sendmmsg: renumbering the next round is safe */
      for (int s = 0; s < k;) {
        int sent = sendmmsg(socks[e], hdr + s, k - s, 0);
        if (sent < 0) { perror("sendmmsg"); return 1; }
        s += sent;
      }
    }
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  printf("%ld %.3f %ld\n", i, now() - t0 - wsecs, warm);
  return 0;
}
