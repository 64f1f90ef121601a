/*
 * galaxy-init's log writer: the task's stdout and stderr go through pipes to this process, which
 * writes them to <sandbox>/stdout and <sandbox>/stderr and rotates each by size (stdout.1 is the
 * newest rotated file, stdout.<files-1> the oldest; older output is dropped). So a chatty service
 * never fills its sandbox, nor its disk quota, with its own output, and it never blocks on it:
 * output that cannot be written (a full disk) is dropped, never left in the pipe.
 *
 * It is a child of the monitor, outside the container's namespaces, and it outlives an agent that
 * restarts (as the monitor does). It writes as the sandbox's owner (the container's root on the
 * host), never as root: whatever the task plants in its sandbox (a symlink named stdout.2 to
 * /etc/shadow, a FIFO), the writer can do nothing with it the task could not do itself, and it
 * opens every file relative to the sandbox's descriptor, without following links, as regular files.
 * It ends when the last process of the container closes the pipes.
 */
#include "galaxy-init.h"
#include <poll.h>

struct log_out {
  const char *name;
  int in;   /* the pipe's read end */
  int fd;   /* the current file; -1 while it cannot be opened */
  off_t size;
};

static int sandbox_fd = -1;
static pid_t writer_pid = -1;

/* Opens `name` in the sandbox for appending: a regular file of ours, never through a link. */
static int open_log(const char *name, off_t *size) {
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = openat(sandbox_fd, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
      *size = st.st_size;
      return fd;
    }
    if (fd >= 0) close(fd);
    /* Something else sits there (a link, a FIFO, a hard link): it goes, and a file of ours comes. */
    unlinkat(sandbox_fd, name, 0);
  }
  return -1;
}

/* stdout -> stdout.1 -> … -> stdout.<files-1>; the oldest is replaced. */
static void rotate(struct log_out *out) {
  if (out->fd >= 0) close(out->fd);
  char from[64], to[64];
  if (cfg.log_files <= 1) {
    unlinkat(sandbox_fd, out->name, 0);
  } else {
    for (int k = cfg.log_files - 1; k >= 1; k--) {
      if (k == 1) snprintf(from, sizeof from, "%s", out->name);
      else snprintf(from, sizeof from, "%s.%d", out->name, k - 1);
      snprintf(to, sizeof to, "%s.%d", out->name, k);
      renameat(sandbox_fd, from, sandbox_fd, to); /* a missing one is fine */
    }
  }
  out->fd = open_log(out->name, &out->size);
}

/* Writes all of `buf`, rotating first when it would take the file past the limit. */
static void write_log(struct log_out *out, const char *buf, size_t n) {
  if (out->fd >= 0 && out->size > 0 && out->size + (off_t)n > cfg.log_max) rotate(out);
  if (out->fd < 0) out->fd = open_log(out->name, &out->size);
  if (out->fd < 0) return;
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(out->fd, buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* ENOSPC, EDQUOT: dropped, the task goes on */
    done += (size_t)w;
    out->size += w;
  }
}

/* The writer's loop; returns once both pipes are closed by every process that held them. */
static void log_writer(int out_pipe, int err_pipe) {
  static char buf[65536];
  sandbox_fd = open(cfg.log_dir, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sandbox_fd < 0) _exit(1);
  if (cfg.log_uid >= 0) {
    if (setgroups(0, NULL) < 0 || setresgid((gid_t)cfg.log_gid, (gid_t)cfg.log_gid, (gid_t)cfg.log_gid) < 0 ||
        setresuid((uid_t)cfg.log_uid, (uid_t)cfg.log_uid, (uid_t)cfg.log_uid) < 0)
      _exit(1);
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  umask(022);
  struct log_out outs[2] = {{"stdout", out_pipe, -1, 0}, {"stderr", err_pipe, -1, 0}};
  for (int k = 0; k < 2; k++) outs[k].fd = open_log(outs[k].name, &outs[k].size);
  int open_pipes = 2;
  while (open_pipes > 0) {
    struct pollfd fds[2];
    for (int k = 0; k < 2; k++) fds[k] = (struct pollfd){.fd = outs[k].in, .events = POLLIN};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; k++) {
      if (outs[k].in < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(outs[k].in, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        write_log(&outs[k], buf, (size_t)n);
        continue;
      }
      close(outs[k].in);
      outs[k].in = -1; /* poll ignores a negative descriptor */
      open_pipes--;
    }
  }
}

/*
 * Starts the writer (before the container exists) and makes our descriptors 1 and 2 the pipes'
 * write ends, which the init and the task inherit. The monitor lets go of them once the init is
 * cloned (release_log_pipes), so that the writer sees their end with the container's.
 */
void start_log_writer(void) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) monitor_fail("pipe: %s", strerror(errno));
  pid_t writer = fork();
  if (writer < 0) monitor_fail("cannot start the log writer: %s", strerror(errno));
  writer_pid = writer;
  if (writer == 0) {
    /* Nothing of the monitor's: the agent waits for the end of the report pipe. */
    if (cfg.report_fd >= 0) close(cfg.report_fd);
    for (int k = 0; k < cfg.njoin; k++)
      if (cfg.join_fd[k] >= 0) close(cfg.join_fd[k]);
    /* Nor the monitor's pipes to the init: the monitor learns of an init that died from their end. */
    for (int k = 0; k < 2; k++) {
      if (to_monitor[k] >= 0) close(to_monitor[k]);
      if (to_init[k] >= 0) close(to_init[k]);
    }
    if (cfg.idmap_fd >= 0) close(cfg.idmap_fd);
    close(out[1]);
    close(err[1]);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* The agent's stop signals are for the container: the writer ends with its output. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    log_writer(out[0], err[0]);
    _exit(0);
  }
  close(out[0]);
  close(err[0]);
  if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) monitor_fail("dup2: %s", strerror(errno));
  close(out[1]);
  close(err[1]);
}

/* In the monitor, once the init holds the pipes: ours go, so only the container keeps them open. */
void release_log_pipes(void) {
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, 1);
  dup2(null, 2);
  close(null);
}

/*
 * In the monitor, once the task has ended: waits (at most `ms`) for the writer to write what the
 * container printed last, so that the task's end is reported with its output complete. Bounded: a
 * task that handed its pipe to a process elsewhere (over a unix socket) cannot hold its end back.
 */
void wait_log_writer(int ms) {
  if (writer_pid <= 0) return;
  /* SIGCHLD is blocked (the monitor takes it with sigwaitinfo): waiting for it wakes us the moment
   * the writer ends, where sleeping in steps of 10 ms cost 5 ms per container on average. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  for (;;) {
    pid_t pid = waitpid(writer_pid, NULL, WNOHANG);
    if (pid == writer_pid || (pid < 0 && errno == ECHILD)) return;
    struct timespec now, left;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left.tv_sec = deadline.tv_sec - now.tv_sec;
    left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
    if (left.tv_nsec < 0) {
      left.tv_sec--;
      left.tv_nsec += 1000000000L;
    }
    if (left.tv_sec < 0) return;
    siginfo_t info;
    sigtimedwait(&chld, &info, &left);
  }
}
