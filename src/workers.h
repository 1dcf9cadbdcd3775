/*
 * workers.h - the listen side as N worker processes under a supervisor
 * (--workers): each worker a whole tunnel, the supervisor forwarding
 * signals, restarting the dead and summing the counters.
 */
#ifndef UOT_WORKERS_H
#define UOT_WORKERS_H

struct options;
struct tunnel_totals;

/* Runs one whole tunnel in a worker; returns its exit status. */
typedef int (*workers_runfn)(void *);

/* workers.c */
int		workers_run(const struct options *, unsigned int, workers_runfn,
		    void *);
unsigned int	workers_count_auto(void);
int		workers_listen_fd(void);
int		workers_reuseport(void);
void		workers_publish(const struct tunnel_totals *);

#endif
