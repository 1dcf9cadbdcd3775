/*
 * tunnel.c - the echo server and the tunnel pair under test.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include "bench.h"

pid_t			 echo_pid = -1;
struct sockaddr_in	 echo_addr;
const char		*end_name[2] = { "listen", "connect" };

static void	 echo_main(int) __attribute__((__noreturn__));

/*
 * The echo server: every datagram goes back to where it came from, in
 * batches. Blocking; SIGTERM (default action) ends it.
 */
static void
echo_main(int fd)
{
#ifdef BENCH_MMSG
	static unsigned char	 buf[ECHO_BATCH][RBUFSIZE];
	struct mmsghdr		 m[ECHO_BATCH];
	struct iovec		 iov[ECHO_BATCH];
	struct sockaddr_in	 from[ECHO_BATCH];
	int			 i, n, done, k;

	memset(m, 0, sizeof m);
	for (i = 0; i < ECHO_BATCH; i++) {
		iov[i].iov_base = buf[i];
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = &from[i];
	}
	for (;;) {
		for (i = 0; i < ECHO_BATCH; i++) {
			iov[i].iov_len = RBUFSIZE;
			m[i].msg_hdr.msg_namelen = sizeof from[i];
		}
		n = recvmmsg(fd, m, ECHO_BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0) {
			if (n == -1 && errno != EINTR)
				sleep_ms(1);
			continue;
		}
		for (i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		for (done = 0; done < n; ) {
			k = sendmmsg(fd, m + done, (unsigned int)(n - done), 0);
			if (k > 0)
				done += k;
			else if (errno != EINTR)
				done++;		/* drop that one */
		}
	}
#else
	static unsigned char	 buf[RBUFSIZE];
	struct sockaddr_in	 from;
	socklen_t		 len;
	ssize_t			 n;

	for (;;) {
		len = sizeof from;
		n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
		    &len);
		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0,
			    (struct sockaddr *)&from, len);
	}
#endif
}

void
echo_start(void)
{
	pid_t	pid, parent = getpid();
	int	fd;

	fd = udp_socket(0, SOCKBUF);
	loopback(&echo_addr, sock_port(fd));
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
#ifdef BENCH_PRCTL
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_TIMERSLACK, 0UL);
#endif
		if (getppid() != parent)
			_exit(1);
		echo_main(fd);
	}
	kid_add(pid);
	echo_pid = pid;
	close(fd);
}

/*
 * A tunnel pair of the binary under test. Fixed mode: the listen side
 * sends from B1 to the echo server, the connect side from B2 to the
 * generator's one socket (cport). Auto mode: one socket per flow on the
 * listen side, replies back to each client on the connect side. With
 * tls, the link is TLS: the listen side has tls.c's certificate and key,
 * the connect side accepts the server by the pin of that key; both up
 * lines must name the TLS version, or it does not count as up.
 */
int
tunnel_start(struct tunnel *t, const struct workload *wl, int cport,
    int tls)
{
	char		 tl[32], tc[32], ul[32], uc[32], pl[32], pc[32];
	char		*argv[2][12];
	uint64_t	 until;
	int		 ports[3], wfd, i, up[2] = { 0, 0 }, status;

	memset(t, 0, sizeof *t);
	t->logfd[0] = t->logfd[1] = -1;
	free_ports(SOCK_STREAM, &ports[0], 1);
	free_ports(SOCK_DGRAM, &ports[1], 2);
	t->tport = ports[0];
	t->b1 = ports[1];
	t->b2 = ports[2];
	snprintf(tl, sizeof tl, "127.0.0.1:%d", t->tport);
	snprintf(tc, sizeof tc, "127.0.0.1:%d", t->tport);
	snprintf(pl, sizeof pl, "127.0.0.1:%d", ntohs(echo_addr.sin_port));
	snprintf(uc, sizeof uc, "127.0.0.1:%d", t->b2);
	if (wl->automode) {
		snprintf(ul, sizeof ul, "auto");
		snprintf(pc, sizeof pc, "127.0.0.1:auto");
	} else {
		snprintf(ul, sizeof ul, "127.0.0.1:%d", t->b1);
		snprintf(pc, sizeof pc, "127.0.0.1:%d", cport);
	}
	argv[0][0] = argv[1][0] = (char *)binary;
	argv[0][1] = (char *)"-l";
	argv[1][1] = (char *)"-t";
	argv[0][2] = tl;
	argv[1][2] = tc;
	argv[0][3] = argv[1][3] = (char *)"-u";
	argv[0][4] = ul;
	argv[1][4] = uc;
	argv[0][5] = argv[1][5] = (char *)"-p";
	argv[0][6] = pl;
	argv[1][6] = pc;
	argv[0][7] = argv[1][7] = NULL;
	if (tls) {
		argv[0][7] = (char *)"--tls-cert";
		argv[0][8] = tls_cert;
		argv[0][9] = (char *)"--tls-key";
		argv[0][10] = tls_key;
		argv[0][11] = NULL;
		argv[1][7] = (char *)"--tls-pin";
		argv[1][8] = tls_pin;
		argv[1][9] = NULL;
	}

	until = now_ns() + (uint64_t)READY_MS * 1000000ULL;
	for (i = 0; i < 2; i++) {
		t->logfd[i] = tmp_file(&wfd);
		t->pid[i] = spawn(argv[i], wfd, -1, -1);
		close(wfd);
		/* The connect side first tries once the listener is there. */
		while (i == 0 && !log_has(t->logfd[0], "listening") &&
		    now_ns() < until - (uint64_t)READY_MS * 800000ULL)
			sleep_ms(2);
	}
	/* Both ends up: each has logged a state change "-> up". */
	for (;;) {
		for (i = 0; i < 2; i++) {
			if (!up[i] && log_has(t->logfd[i], UP_LINE))
				up[i] = 1;
			if (!t->reaped[i] &&
			    wait4(t->pid[i], &status, WNOHANG, &t->ru[i]) ==
			    t->pid[i]) {
				kid_del(t->pid[i]);
				t->reaped[i] = 1;
				t->status[i] = status;
				warnx_("%s side exited before it was up",
				    end_name[i]);
				return (-1);
			}
		}
		if (up[0] && up[1])
			break;
		if (now_ns() >= until) {
			warnx_("the tunnel was not up within %d ms (%s %s%s)",
			    READY_MS, binary, wl->name, tls ? ", TLS" : "");
			return (-1);
		}
		sleep_ms(2);
	}
	for (i = 0; tls && i < 2; i++) {
		if (!log_has(t->logfd[i], "TLSv1")) {
			warnx_("%s side came up without TLS (%s %s)",
			    end_name[i], binary, wl->name);
			return (-1);
		}
	}
	for (i = 0; i < 2; i++)
		t->idle_hwm[i] = proc_kb(t->pid[i], "VmHWM:");
	return (0);
}

/* SIGTERM both ends and wait; -1 if either ended badly. */
int
tunnel_stop(struct tunnel *t, int failed)
{
	int	i, bad, st, rc = 0;

	for (i = 0; i < 2; i++) {
		if (t->pid[i] > 0 && !t->reaped[i])
			t->peak_hwm[i] = proc_kb(t->pid[i], "VmHWM:");
	}
	for (i = 0; i < 2; i++) {
		if (t->pid[i] > 0 && !t->reaped[i]) {
			stop_kid(t->pid[i], &t->status[i], &t->ru[i]);
			t->reaped[i] = 1;
		}
	}
	for (i = 0; i < 2; i++) {
		if (t->pid[i] <= 0)
			continue;
		st = t->status[i];
		bad = failed;
		if (WIFSIGNALED(st)) {
			warnx_("%s side died of signal %d", end_name[i],
			    WTERMSIG(st));
			bad = 1;
		} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
			warnx_("%s side exited with status %d", end_name[i],
			    WEXITSTATUS(st));
			bad = 1;
		}
		if (bad)
			rc = -1;
		if ((bad || opt_verbose) && t->logfd[i] != -1)
			log_show(t->logfd[i], end_name[i], bad ? 30 : 0);
	}
	for (i = 0; i < 2; i++) {
		if (t->logfd[i] != -1)
			close(t->logfd[i]);
		t->logfd[i] = -1;
	}
	return (rc);
}

void
snap_take(struct snap *s, const struct tunnel *t)
{
	memset(s, 0, sizeof *s);
	s->tun_ok = t != NULL && proc_ticks(t->pid[0], &s->tun[0]) == 0 &&
	    proc_ticks(t->pid[1], &s->tun[1]) == 0;
	s->echo_ok = proc_ticks(echo_pid, &s->echo) == 0;
	s->self = self_cpu();
	s->busy_ok = proc_busy(&s->busy) == 0;
}
