/*
 * e2e_proc.c - what /proc tells the end-to-end suites of a process: which
 * child runs with an argument, its memory, its CPU time. Linux only; each
 * returns -1 where /proc does not answer, and the suites skip those checks.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

/*
 * The pid of our child whose command line holds the argument arg (the
 * harness does not say), or -1.
 */
long
e2e_child_pid(const char *arg)
{
	DIR		*d;
	struct dirent	*de;
	FILE		*f;
	char		 path[64], line[4096], *s, *end;
	long		 pid, found = -1;
	int		 ppid;
	size_t		 n, i;

	if ((d = opendir("/proc")) == NULL)
		return (-1);
	while (found == -1 && (de = readdir(d)) != NULL) {
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(line, 1, sizeof line - 1, f);
		fclose(f);
		line[n] = '\0';
		/* "pid (comm) state ppid ...": comm may hold anything. */
		if ((s = strrchr(line, ')')) == NULL ||
		    sscanf(s + 1, " %*c %d", &ppid) != 1 ||
		    ppid != (int)getpid())
			continue;
		snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(line, 1, sizeof line - 1, f);
		fclose(f);
		line[n] = '\0';
		for (i = 0; i < n; i += strlen(line + i) + 1) {
			if (strcmp(line + i, arg) == 0) {
				found = pid;
				break;
			}
		}
	}
	closedir(d);
	return (found);
}

/* A "Vm...:" figure of /proc/PID/status in kB, or -1. */
long
e2e_vm_kb(long pid, const char *name)
{
	FILE	*f;
	char	 path[64], line[256];
	long	 kb = -1;
	size_t	 len = strlen(name);

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (kb);
}

/* User + system CPU time of pid so far, in ms; -1 if unknown. */
long
e2e_cpu_ms(long pid)
{
	FILE			*f;
	char			 path[64], line[1024], *s;
	unsigned long long	 ut, st;
	long			 hz = sysconf(_SC_CLK_TCK);
	size_t			 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	/* After "(comm)": state, then fields 4..13, then utime, stime. */
	if ((s = strrchr(line, ')')) == NULL || sscanf(s + 1, " %*c %*d %*d "
	    "%*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2 ||
	    hz <= 0)
		return (-1);
	return ((long)((ut + st) * 1000 / (unsigned long long)hz));
}
