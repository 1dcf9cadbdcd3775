/* e2e.h - run the real udp-over-tcp binary on loopback for tests. */
#ifndef UOT_E2E_H
#define UOT_E2E_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* Generous bounds: the suites must pass on a loaded two-core machine. */
#define E2E_READY_MS	15000	/* for a log line such as "-> up" */
#define E2E_RECV_MS	5000	/* for one datagram through the tunnel */
#define E2E_EXIT_MS	5000	/* for a process to exit after a signal */

/* The largest UDP payload over IPv4, and a buffer that holds it and more. */
#define E2E_MAX_DGRAM	65507
#define E2E_BUFSIZE	(65536 + 1)

/* One child process running $UOT_BINARY, its stderr captured. */
struct e2e_proc;

/*
 * ck_assert_msg(), but a failure first prints what every child said on
 * stderr: Check's fork mode ends a failed test with _exit(), so the
 * harness's atexit() handler cannot be relied on to do it. It expands
 * where it is used: a suite includes <check.h> before this file.
 */
#define require(expr, ...) do {						\
	int	require_ok = (expr) != 0;				\
									\
	if (!require_ok)						\
		e2e_dump();						\
	ck_assert_msg(require_ok, __VA_ARGS__);				\
} while (0)

/* e2e.c: the binary, ports, time, test data */
const char	*e2e_binary(void);
const char	*e2e_need_binary(const char *);
int		 e2e_free_port(int);
char		*e2e_hostport(char *, size_t, int);
long long	 e2e_now_ms(void);
void		 e2e_fill(unsigned char *, size_t, uint32_t);
void		 e2e_put32(unsigned char *, uint32_t);
uint32_t	 e2e_get32(const unsigned char *);

/* e2e.c: processes */
struct e2e_proc	*e2e_spawn(const char *, ...)
		     __attribute__((__sentinel__));
struct e2e_proc	*e2e_spawnv(const char *, char *const []);
struct e2e_proc	*e2e_spawn_path(const char *, const char *,
		     char *const []);
ssize_t		 e2e_wait_log(struct e2e_proc *, const char *, size_t, int);
int		 e2e_signal(struct e2e_proc *, int);
int		 e2e_wait_exit(struct e2e_proc *, int);
int		 e2e_stop(struct e2e_proc *, int);
void		 e2e_kill(struct e2e_proc *);
const char	*e2e_log(struct e2e_proc *, size_t *);
size_t		 e2e_log_len(struct e2e_proc *);
const char	*e2e_name(struct e2e_proc *);
void		 e2e_dump(void);
ssize_t		 e2e_find_line(struct e2e_proc *, const char *, const char *,
		     size_t);
int		 e2e_count_lines(struct e2e_proc *, const char *, const char *,
		     size_t);
void		 e2e_cleanup(int);

/* e2e.c: descriptors, UDP on 127.0.0.1 */
int		 e2e_cloexec(int, int);
int		 e2e_nonblock(int);
int		 e2e_udp_socket(int);
int		 e2e_udp_port(int);
int		 e2e_udp_send(int, int, const void *, size_t);
ssize_t		 e2e_udp_recv(int, void *, size_t, int *, int);

/* e2e_proc.c: what /proc tells of a process; -1 where there is none */
long		 e2e_child_pid(const char *);
long		 e2e_vm_kb(long, const char *);
long		 e2e_cpu_ms(long);

#endif
