/*
 * galaxy-init's parts: its configuration (config.c), the container's root (root.c), the task's
 * user and capabilities (user.c), the monitor and init (galaxy-init.c), and the agent's spawner of
 * helpers (spawner.c). See galaxy-init.c.
 */
#ifndef GALAXY_INIT_H
#define GALAXY_INIT_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOIN 16
#define MAX_OPS 256
#define MAX_GROUPS 64
#define USERNS_SIZE 65536

/* One step of the mount plan: `--op TYPE FLAGS ARG DST`. */
struct op {
  const char *type, *flags, *arg, *dst;
};

/* What the agent asked for (config.c parses it). */
struct config {
  const char *join[MAX_JOIN];
  int join_fd[MAX_JOIN];
  int njoin;
  const char *netns;
  int new_net;
  const char *root;
  /* --image LOWER UPPER WORK: the root is an overlay of the unpacked image (NULL: a tmpfs). */
  const char *image_lower, *image_upper, *image_work;
  int idmap_fd; /* a user namespace mapping like the container's, for the image's lower layer; -1: none */
  struct op ops[MAX_OPS];
  int nops;
  const char *chdir;
  long long userns_base; /* -1: none */
  int run_as;            /* --user given */
  uid_t uid;
  gid_t gid;
  gid_t groups[MAX_GROUPS];
  int ngroups;
  uint64_t caps;
  int caps_set;
  const char *exit_file;
  int report_fd;
  int env_fd;
  char **envp; /* the task's environment (NULL: ours) */
  /* --log-dir DIR MAX FILES: the init writes the task's output to DIR, rotated (logs.c) */
  const char *log_dir;
  long long log_max;
  int log_files;
  char **argv;
};
extern struct config cfg;

/* Pipes between the monitor and the init: to_monitor (init writes), to_init (monitor writes). */
extern int to_monitor[2], to_init[2];

/* In the init: reports why it fails to the monitor, which reports it to the agent; exits 125. */
__attribute__((noreturn, format(printf, 1, 2))) void init_fail(const char *fmt, ...);
/* In the monitor, before the init exists: reports to the agent and exits 125. */
__attribute__((noreturn, format(printf, 1, 2))) void monitor_fail(const char *fmt, ...);

/* config.c */
void parse(int argc, char **argv);
void read_env(int fd);
/* galaxy-init.c: writes a uid_map or gid_map of `pid` (monitor_fail when it cannot). */
void write_map(pid_t pid, const char *what, long long base);
/* user.c: a user namespace with the container's mapping, held by a descriptor (cfg.idmap_fd). */
void make_idmap_userns(void);
/* root.c: builds the new root on cfg.root from the plan and pivots into it. */
void build_root(void);
/* logs.c: the task's output, through pipes the helper makes and the init reads (see logs.c). */
struct pollfd;
void open_log_pipes(void);
void release_log_pipes(void);
void close_log_inputs(void);
void open_log_dir(void);
void open_log_files(void);
int log_pollfds(struct pollfd *fds, int at);
void pump_logs(int drain);
/* user.c */
int cap_last(void);
void become_user(int last);
/* spawner.c: `galaxy-init --spawner`, which forks helpers on the agent's requests: a request whose
 * program is this very binary runs helper_main in the fork, without an exec (spawner.c). */
int spawner_main(void);
/* galaxy-init.c: one container's helper (the monitor and the init), from its argv. */
int helper_main(int argc, char **argv);
/* config.c: with GALAXY_LAUNCH_TRACE=FILE in the helper's environment (the agent passes on its
 * own), each step of a launch appends "<monotonic µs> <task id> <pid> <step>" to FILE: the
 * profile of a launch (docs/security.md, "What a launch costs"). Off otherwise. */
void trace_open(void);
void trace(const char *step);
/* galaxy-init.c: every signal's default action, none blocked (before an exec). */
void default_signals(void);

#endif
