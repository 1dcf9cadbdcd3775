/*
 * util.c - small helpers of the benchmark: errors, time, sockets, files.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include "bench.h"

static int	 set_nonblock(int);

void
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("uot-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void
warnx_(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fputs("uot-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec);
}

void
sleep_ms(int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		die("out of memory");
	return (p);
}

uint32_t
mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return (h);
}

int
set_cloexec(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFD, flags | FD_CLOEXEC));
}

static int
set_nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFL, flags | O_NONBLOCK));
}

void
loopback(struct sockaddr_in *sin, int port)
{
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((uint16_t)port);
}

/* A UDP socket bound at 127.0.0.1:0, close-on-exec. */
int
udp_socket(int nonblock, int bufsize)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (bufsize > 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize,
		    sizeof bufsize);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize,
		    sizeof bufsize);
	}
	loopback(&sin, 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		die("bind 127.0.0.1:0: %s", strerror(errno));
	if (set_cloexec(fd) == -1 || (nonblock && set_nonblock(fd) == -1))
		die("fcntl: %s", strerror(errno));
	return (fd);
}

int
sock_port(int fd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("getsockname: %s", strerror(errno));
	return (ntohs(sin.sin_port));
}

/* n distinct ports of this type free on 127.0.0.1 a moment ago. */
int
free_ports(int type, int *ports, int n)
{
	struct sockaddr_in	sin;
	int			fds[8], i;

	if (n > 8)
		return (-1);
	for (i = 0; i < n; i++) {
		loopback(&sin, 0);
		if ((fds[i] = socket(AF_INET, type, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof sin) == -1)
			die("free port: %s", strerror(errno));
		ports[i] = sock_port(fds[i]);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return (0);
}

int
same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return (a->sin_family == b->sin_family &&
	    a->sin_port == b->sin_port &&
	    a->sin_addr.s_addr == b->sin_addr.s_addr);
}

/* The whole file behind fd, NUL-ended. */
char *
read_all(int fd, size_t *lenp)
{
	char	*buf;
	size_t	 len = 0, size = 4096;
	ssize_t	 n;

	buf = xcalloc(size, 1);
	for (;;) {
		if (len + 1 >= size) {
			size *= 2;
			if ((buf = realloc(buf, size)) == NULL)
				die("out of memory");
		}
		n = pread(fd, buf + len, size - len - 1, (off_t)len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return (buf);
}

int
in_path(const char *name)
{
	const char	*path = getenv("PATH"), *p, *e;
	char		 buf[PATH_MAX];

	if (path == NULL)
		path = "/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		snprintf(buf, sizeof buf, "%.*s/%s", (int)(e - p), p, name);
		if (access(buf, X_OK) == 0)
			return (1);
	}
	return (0);
}
