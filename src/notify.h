/* notify.h - tell a service manager how we are (systemd, when built in). */
#ifndef UOT_NOTIFY_H
#define UOT_NOTIFY_H

/* notify.c */
void	notify_ready(const char *);
void	notify_stopping(void);
int	notify_listen_fd(void);

#endif
