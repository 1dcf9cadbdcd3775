/* e2e.h - run the real udp-over-tcp binary on loopback for tests. */
#ifndef UOT_E2E_H
#define UOT_E2E_H

#include <sys/types.h>
#include <stddef.h>

/* Generous bounds: the suites must pass on a loaded two-core machine. */
#define E2E_READY_MS	15000	/* for a log line such as "-> up" */
#define E2E_RECV_MS	5000	/* for one datagram through the tunnel */
#define E2E_EXIT_MS	5000	/* for a process to exit after a signal */

/* The largest UDP payload over IPv4, and a buffer that holds it and more. */
#define E2E_MAX_DGRAM	65507
#define E2E_BUFSIZE	(65536 + 1)

/* One child process running $UOT_BINARY, its stderr captured. */
struct e2e_proc;

/* e2e.c: the binary and ports */
const char	*e2e_binary(void);
int		 e2e_free_port(int);

/* e2e.c: processes */
struct e2e_proc	*e2e_spawn(const char *, ...)
		     __attribute__((__sentinel__));
struct e2e_proc	*e2e_spawnv(const char *, char *const []);
ssize_t		 e2e_wait_log(struct e2e_proc *, const char *, size_t, int);
int		 e2e_signal(struct e2e_proc *, int);
int		 e2e_wait_exit(struct e2e_proc *, int);
int		 e2e_stop(struct e2e_proc *, int);
void		 e2e_kill(struct e2e_proc *);
const char	*e2e_log(struct e2e_proc *, size_t *);
const char	*e2e_name(struct e2e_proc *);
void		 e2e_dump(void);
void		 e2e_cleanup(int);

/* e2e.c: UDP on 127.0.0.1 */
int		 e2e_udp_socket(int);
int		 e2e_udp_port(int);
int		 e2e_udp_send(int, int, const void *, size_t);
ssize_t		 e2e_udp_recv(int, void *, size_t, int *, int);

#endif
