/*
 * fake_gai.h - a stand-in for getaddrinfo(3) that tests link in: names
 * only it knows, as a name-service module would answer them, and a name
 * whose lookup hangs. Every other name goes to the real one.
 */
#ifndef UOT_FAKE_GAI_H
#define UOT_FAKE_GAI_H

#define FAKE_GAI_MAX	4

/* fake_gai.c */
extern const char	*fake_gai_name;		/* answered from the table */
extern const char	*fake_gai_addrs[FAKE_GAI_MAX];	/* numeric, in order */
extern const char	*fake_gai_hang;		/* blocks until released */
void	fake_gai_release(void);
int	fake_gai_calls(const char *);

#endif
