/*
 * galaxy-init's task output: the task's stdout and stderr are pipes that the container's init
 * reads while it waits for the task, writing <sandbox>/stdout and <sandbox>/stderr and rotating
 * each by size (stdout.1 is the newest rotated file, stdout.<files-1> the oldest; older output is
 * dropped). So a chatty service never fills its sandbox, nor its disk quota, with its own output,
 * and it never blocks on it: output that cannot be written (a full disk) is dropped, never left in
 * the pipe.
 *
 * The init writes as the task's own user (it has become it before it starts writing), in the
 * container's namespaces and cgroups: whatever the task plants in its sandbox (a symlink named
 * stdout.2 to /etc/shadow, a FIFO), the init can do nothing with it the task could not do itself,
 * and it opens every file relative to the sandbox's descriptor (opened in the container, by its
 * path there), without following links, as regular files. The writing is the container's work,
 * charged to its cpu and memory. No process of its own: a process more per container (its fork,
 * its page faults, its exit) cost about a tenth of a batch burst's throughput.
 */
#include "galaxy-init.h"
#include <poll.h>

struct log_out {
  const char *name;
  int in;   /* the pipe's read end; -1 once closed */
  int fd;   /* the current file; -1 while it cannot be opened */
  off_t size;
};

static int sandbox_fd = -1;
static struct log_out outs[2] = {{"stdout", -1, -1, 0}, {"stderr", -1, -1, 0}};

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

/*
 * In the helper, before the init is cloned: the pipes, whose write ends become our descriptors 1
 * and 2 (the init and the task inherit them) and whose read ends the init keeps (close-on-exec:
 * the task never holds them).
 */
void open_log_pipes(void) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) monitor_fail("pipe: %s", strerror(errno));
  if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) monitor_fail("dup2: %s", strerror(errno));
  close(out[1]);
  close(err[1]);
  outs[0].in = out[0];
  outs[1].in = err[0];
}

/* Makes descriptors 1 and 2 /dev/null (in the monitor, or in the init once the task holds the pipes). */
void release_log_pipes(void) {
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, 1);
  dup2(null, 2);
  close(null);
}

/* In the monitor, once the init is cloned: the output is the init's to read. */
void close_log_inputs(void) {
  for (int k = 0; k < 2; k++) {
    if (outs[k].in >= 0) close(outs[k].in);
    outs[k].in = -1;
  }
}

/* In the init, in the new root, still root: the sandbox, by its path in the container. */
void open_log_dir(void) {
  sandbox_fd = open(cfg.log_dir, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sandbox_fd < 0) init_fail("cannot open the sandbox %s for the task's output: %s", cfg.log_dir, strerror(errno));
  for (int k = 0; k < 2; k++)
    if (fcntl(outs[k].in, F_SETFL, O_NONBLOCK) < 0) init_fail("cannot set up the output pipes: %s", strerror(errno));
}

/* In the init, as the task's user: the files the output goes to. */
void open_log_files(void) {
  for (int k = 0; k < 2; k++) outs[k].fd = open_log(outs[k].name, &outs[k].size);
}

/* Adds the pipes still open to `fds` (from index `at`); returns how many it added. */
int log_pollfds(struct pollfd *fds, int at) {
  int n = 0;
  for (int k = 0; k < 2; k++)
    if (outs[k].in >= 0) fds[at + n++] = (struct pollfd){.fd = outs[k].in, .events = POLLIN};
  return n;
}

/*
 * Copies what is in the pipes to the files: one read from each (`drain` 0: between the signals the
 * init waits for, so a chatty task never keeps it from them), or all there is (`drain` 1: once
 * the task has ended, bounded for output still coming from processes it left behind). A pipe
 * whose writers are all gone is closed.
 */
void pump_logs(int drain) {
  static char buf[65536];
  for (int k = 0; k < 2; k++) {
    for (int reads = 0; outs[k].in >= 0 && reads < (drain ? 1024 : 1); reads++) {
      ssize_t n = read(outs[k].in, buf, sizeof buf);
      if (n > 0) {
        write_log(&outs[k], buf, (size_t)n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      close(outs[k].in);
      outs[k].in = -1;
    }
  }
}
