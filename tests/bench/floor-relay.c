/*
 * floor-relay.c - the least a UDP-over-TCP relay can do, as a yardstick
 * for the benchmark ('make bench-floor'), never as a tool.
 *
 *   floor-relay -l IP:PORT -u IP:PORT -p IP:PORT	(listen side)
 *   floor-relay -t IP:PORT -u IP:PORT -p IP:PORT	(connect side)
 *
 * Fixed mode, IPv4, the default 'flow' framing, one peer. It makes the
 * same system calls per batch as udp-over-tcp (epoll_wait, recvmmsg,
 * writev; readv, sendmmsg) and nothing else: no libevent, no queue, no
 * backpressure, no counters, no logging, no error recovery. Whatever CPU
 * and latency it costs is the kernel's price for the path; what
 * udp-over-tcp costs above it is ours. Linux only (epoll, *mmsg).
 *
 * It prints "listening" and "-> up" as udp-over-tcp does, so uot-bench
 * can run it as the binary under test, and exits 0 on SIGTERM.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include <stdio.h>
#include <stdlib.h>

#if defined(__linux__) && defined(HAVE_RECVMMSG) && defined(HAVE_SENDMMSG)

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define BATCH		64
#define MAXDGRAM	65535
#define HDR		22		/* LEN, PORT, ADDR */
#define INBUF		(1024 * 1024)

static volatile sig_atomic_t	stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "floor-relay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
parse(const char *s, struct sockaddr_in *sin)
{
	char	host[64], *colon;

	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	if (strlen(s) >= sizeof host)
		goto bad;
	strcpy(host, s);
	if ((colon = strrchr(host, ':')) == NULL)
		goto bad;
	*colon = '\0';
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		goto bad;
	return;
bad:
	fprintf(stderr, "floor-relay: %s: not IPv4:PORT\n", s);
	exit(2);
}

/* The flow framing's header for a datagram of len bytes from sin. */
static void
header(unsigned char *h, const struct sockaddr_in *sin, size_t len)
{
	uint32_t	n = (uint32_t)(18 + len);
	uint16_t	port = ntohs(sin->sin_port);

	h[0] = n & 0xff;
	h[1] = (n >> 8) & 0xff;
	h[2] = (n >> 16) & 0xff;
	h[3] = (n >> 24) & 0xff;
	h[4] = port & 0xff;
	h[5] = port >> 8;
	memset(h + 6, 0, 10);
	h[16] = h[17] = 0xff;
	memcpy(h + 18, &sin->sin_addr, 4);
}

/* Writes all of iov, waiting when the socket is full (it is blocking). */
static void
write_all(int fd, struct iovec *iov, int n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = writev(fd, iov, n)) < 0) {
			if (errno == EINTR)
				continue;
			die("writev");
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
}

int
main(int argc, char *argv[])
{
	static unsigned char	 rx[BATCH][MAXDGRAM], hdrs[BATCH][HDR];
	static unsigned char	 in[INBUF];
	struct mmsghdr		 mm[BATCH], tx[BATCH];
	struct iovec		 rxiov[BATCH], txiov[BATCH], wv[2 * BATCH];
	struct sockaddr_in	 from[BATCH], tcp, bind_to, dest;
	struct epoll_event	 ev, evs[2];
	struct sigaction	 sa;
	size_t			 have = 0, off, len;
	ssize_t			 r;
	int			 ch, listen_side = -1, one = 1;
	int			 ufd, tfd, lfd, ep, i, n, k, nev;

	while ((ch = getopt(argc, argv, "l:t:u:p:")) != -1) {
		switch (ch) {
		case 'l':
		case 't':
			listen_side = ch == 'l';
			parse(optarg, &tcp);
			break;
		case 'u':
			parse(optarg, &bind_to);
			break;
		case 'p':
			parse(optarg, &dest);
			break;
		default:
			goto usage;
		}
	}
	if (listen_side == -1 || bind_to.sin_family == 0 ||
	    dest.sin_family == 0)
		goto usage;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((ufd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(ufd, (struct sockaddr *)&bind_to, sizeof bind_to) == -1)
		die("udp");
	if ((tfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	if (listen_side) {
		lfd = tfd;
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(lfd, (struct sockaddr *)&tcp, sizeof tcp) == -1 ||
		    listen(lfd, 1) == -1)
			die("listen");
		fprintf(stderr, "floor-relay: listening\n");
		if ((tfd = accept(lfd, NULL, NULL)) == -1)
			die("accept");
		close(lfd);
	} else {
		while (connect(tfd, (struct sockaddr *)&tcp, sizeof tcp) ==
		    -1) {
			if (errno != ECONNREFUSED)
				die("connect");
			close(tfd);
			usleep(10000);
			if ((tfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
				die("socket");
		}
	}
	setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fprintf(stderr, "floor-relay: link -> up\n");

	if ((ep = epoll_create1(0)) == -1)
		die("epoll_create1");
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.fd = ufd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

	memset(mm, 0, sizeof mm);
	memset(tx, 0, sizeof tx);
	for (i = 0; i < BATCH; i++) {
		rxiov[i].iov_base = rx[i];
		mm[i].msg_hdr.msg_iov = &rxiov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &from[i];
		tx[i].msg_hdr.msg_iov = &txiov[i];
		tx[i].msg_hdr.msg_iovlen = 1;
		tx[i].msg_hdr.msg_name = &dest;
		tx[i].msg_hdr.msg_namelen = sizeof dest;
	}

	while (!stop) {
		if ((nev = epoll_wait(ep, evs, 2, -1)) < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (k = 0; k < nev; k++) {
			if (evs[k].data.fd == ufd) {
				/* A batch of datagrams, one writev of frames. */
				for (i = 0; i < BATCH; i++) {
					rxiov[i].iov_len = MAXDGRAM;
					mm[i].msg_hdr.msg_namelen =
					    sizeof from[i];
				}
				n = recvmmsg(ufd, mm, BATCH, MSG_DONTWAIT,
				    NULL);
				for (i = 0; i < n; i++) {
					header(hdrs[i], &from[i],
					    mm[i].msg_len);
					wv[2 * i].iov_base = hdrs[i];
					wv[2 * i].iov_len = HDR;
					wv[2 * i + 1].iov_base = rx[i];
					wv[2 * i + 1].iov_len = mm[i].msg_len;
				}
				if (n > 0)
					write_all(tfd, wv, 2 * n);
				continue;
			}
			/* Frames: every complete one out in one sendmmsg. */
			r = read(tfd, in + have, sizeof in - have);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				/* The other end went first: the run is over. */
				return (r == 0 || stop ? 0 : 1);
			}
			have += (size_t)r;
			for (off = 0, n = 0; have - off >= HDR; ) {
				len = (size_t)in[off] | (size_t)in[off + 1] << 8 |
				    (size_t)in[off + 2] << 16 |
				    (size_t)in[off + 3] << 24;
				if (len < 18 || len > 18 + MAXDGRAM)
					return (1);
				if (have - off < 4 + len)
					break;
				txiov[n].iov_base = in + off + HDR;
				txiov[n].iov_len = len - 18;
				off += 4 + len;
				if (++n == BATCH) {
					(void)sendmmsg(ufd, tx, n, 0);
					n = 0;
				}
			}
			if (n > 0)
				(void)sendmmsg(ufd, tx, (unsigned int)n, 0);
			memmove(in, in + off, have - off);
			have -= off;
		}
	}
	return (0);

usage:
	fprintf(stderr, "usage: floor-relay -l|-t IP:PORT -u IP:PORT "
	    "-p IP:PORT\n");
	return (2);
}

#else

int
main(void)
{
	fprintf(stderr, "floor-relay: needs Linux (epoll, recvmmsg, "
	    "sendmmsg)\n");
	return (1);
}

#endif
