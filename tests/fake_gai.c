/*
 * fake_gai.c - getaddrinfo(3) for tests. Defined in the test program,
 * it takes the place of the C library's for the code in libuot.a, as a
 * name-service module (nss-mdns, nss-ldap, ...) would stand beside the
 * hosts file and DNS: the resolver under test cannot tell the
 * difference. The real one is found with dlsym(RTLD_NEXT).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <dlfcn.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_gai.h"

const char	*fake_gai_name;
const char	*fake_gai_addrs[FAKE_GAI_MAX];
const char	*fake_gai_hang;

static pthread_mutex_t	fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	fake_cond = PTHREAD_COND_INITIALIZER;
static int		fake_released;
static int		fake_ncalls, fake_nhang;

typedef int	(*gai_fn)(const char *, const char *,
		    const struct addrinfo *, struct addrinfo **);

static gai_fn
fake_real(void)
{
	static gai_fn	real;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (real == NULL)
		abort();
	return (real);
}

/* A hanging lookup returns (with no answer) once this is called. */
void
fake_gai_release(void)
{
	pthread_mutex_lock(&fake_lock);
	fake_released = 1;
	pthread_cond_broadcast(&fake_cond);
	pthread_mutex_unlock(&fake_lock);
}

/* How many lookups of name (NULL: of any name) were made so far. */
int
fake_gai_calls(const char *name)
{
	int	n;

	pthread_mutex_lock(&fake_lock);
	n = name != NULL && fake_gai_hang != NULL &&
	    strcmp(name, fake_gai_hang) == 0 ? fake_nhang : fake_ncalls;
	pthread_mutex_unlock(&fake_lock);
	return (n);
}

int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo	 h, *list = NULL, **tail = &list, *one;
	int		 i, error;

	/* Our names are names: never numbers, never a wait. */
	if (node != NULL && hints != NULL &&
	    (hints->ai_flags & AI_NUMERICHOST) &&
	    ((fake_gai_name != NULL && strcmp(node, fake_gai_name) == 0) ||
	    (fake_gai_hang != NULL && strcmp(node, fake_gai_hang) == 0)))
		return (EAI_NONAME);
	pthread_mutex_lock(&fake_lock);
	fake_ncalls++;
	if (node != NULL && fake_gai_hang != NULL &&
	    strcmp(node, fake_gai_hang) == 0) {
		fake_nhang++;
		while (!fake_released)
			pthread_cond_wait(&fake_cond, &fake_lock);
		pthread_mutex_unlock(&fake_lock);
		return (EAI_AGAIN);
	}
	pthread_mutex_unlock(&fake_lock);
	if (node == NULL || fake_gai_name == NULL ||
	    strcmp(node, fake_gai_name) != 0)
		return (fake_real()(node, service, hints, res));

	/* Each address as the real resolver gives a numeric one, chained. */
	memset(&h, 0, sizeof h);
	if (hints != NULL)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	for (i = 0; i < FAKE_GAI_MAX && fake_gai_addrs[i] != NULL; i++) {
		if ((error = fake_real()(fake_gai_addrs[i], service, &h,
		    &one)) != 0) {
			if (list != NULL)
				freeaddrinfo(list);
			return (error);
		}
		*tail = one;
		while (*tail != NULL)
			tail = &(*tail)->ai_next;
	}
	if (list == NULL)
		return (EAI_NONAME);
	*res = list;
	return (0);
}
