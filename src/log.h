/* log.h - OpenBSD-style logging to stderr (or syslog). */
#ifndef UOT_LOG_H
#define UOT_LOG_H

#include <stdarg.h>

/* How much to say: warnings and link changes, flow events, every datagram. */
enum log_level {
	LOG_LEVEL_INFO = 0,
	LOG_LEVEL_VERBOSE = 1,
	LOG_LEVEL_DEBUG = 2
};

extern int log_level;

/* Cheap test for the per-datagram path: no formatting unless wanted. */
#define log_debug_enabled()	(log_level >= LOG_LEVEL_DEBUG)
#define log_verbose_enabled()	(log_level >= LOG_LEVEL_VERBOSE)

#define LOG_PRINTF(a, b)	__attribute__((__format__(__printf__, a, b)))

/* log.c */
void	log_init(const char *, int, int);
void	log_warn(const char *, ...) LOG_PRINTF(1, 2);
void	log_warnx(const char *, ...) LOG_PRINTF(1, 2);
void	log_info(const char *, ...) LOG_PRINTF(1, 2);
void	log_verbose(const char *, ...) LOG_PRINTF(1, 2);
void	log_debug(const char *, ...) LOG_PRINTF(1, 2);
void	fatal(const char *, ...) LOG_PRINTF(1, 2) __attribute__((__noreturn__));
void	fatalx(const char *, ...) LOG_PRINTF(1, 2) __attribute__((__noreturn__));


/*
 * At most a few lines per window for what a peer can provoke. burst,
 * period and what may be left 0: five lines in ten seconds, summarised
 * as "warnings".
 */
struct log_ratelimit {
	long		window;		/* start of the current window, s */
	unsigned int	count;		/* lines in this window */
	unsigned int	suppressed;	/* lines held back in this window */
	unsigned int	burst;		/* lines per window; 0: the default */
	unsigned int	period;		/* window, s; 0: the default */
	const char	*what;		/* for the summary; NULL: warnings */
};

int	log_ratelimit(struct log_ratelimit *);
void	log_set_prefix(const char *);

#endif
