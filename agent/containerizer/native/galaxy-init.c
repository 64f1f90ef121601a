/*
 * galaxy-init: starts one Galaxy container in one exec, as crun or Mesos' `mesos-containerizer
 * launch` do. The agent spawns it as root with the task's environment and output files; it
 *
 *   1. opens the container's cgroups and joins its network namespace, if the tcp isolator made one;
 *   2. clones the container's init into new pid, mount, uts and ipc (and maybe net) namespaces;
 *   3. the init builds the container's root filesystem from the agent's mount plan (tmpfs root,
 *      read-only binds of the system directories, /etc, /proc, /dev, /tmp, the sandbox, volumes),
 *      pivots into it, detaches the host's root, and joins the cgroups: nothing of the task ever
 *      runs outside them, and the agent's setup work is not charged to the task's cpu quota;
 *   4. the init enters a user namespace of its own, whose uid_map and gid_map this process (still
 *      root on the host) writes: container uid 0-65535 = host uid base..base+65535. Or it becomes
 *      the named host user; or stays real root;
 *   5. it drops the capability bounding set to the agent's mask, sets no_new_privs, and forks the
 *      task, then stays pid 1: it passes SIGTERM/SIGINT to everything in the namespace, reaps
 *      orphans, and exits with the task's status once the task ends;
 *   6. this process stays outside as the container's monitor: it passes the agent's signals to the
 *      init and writes the task's exit status to --exit-file for an agent that restarted meanwhile.
 *
 * Signals never get lost: both processes keep the signals they handle blocked from their first
 * instruction and take them with sigwaitinfo(); a blocked signal is queued even for a namespace's
 * init. The agent learns on --report-fd "ok <init pid>" once the task has exec'd, or
 * "error <why>" when anything before that failed.
 *
 * Usage: galaxy-init [options] -- program [args...]
 *   --join FILE            a cgroup.procs the container joins (repeatable)
 *   --netns PATH           join this network namespace
 *   --new-net              a new, empty network namespace
 *   --root DIR             an empty directory to mount the new root on (in our mount namespace)
 *   --op TYPE FLAGS ARG DST  one step of the mount plan, DST being a path in the new root:
 *        tmpfs  ARG=mount data        bind  ARG=host path      proc   ARG=-
 *        devpts ARG=mount data        mkdir ARG=octal mode     symlink ARG=link target
 *        mknod  ARG=major:minor       mask  ARG=-  (hide DST when it exists)
 *        remount ARG=-  (apply FLAGS to DST's mount; "/" is the root itself)
 *        protect ARG=-  (bind DST onto itself, then apply FLAGS: e.g. /proc/sys read-only)
 *      FLAGS: comma list of ro, nosuid, nodev, noexec, rec, file, optional; or "-"
 *   --chdir PATH           the task's working directory, in the new root
 *   --userns BASE          a user namespace: container uids/gids 0-65535 = host BASE..BASE+65535
 *   --user UID GID GROUPS  run as this host user (GROUPS: comma list or "-")
 *   --caps MASK            the capability bounding set (hex), also the task's set when it is root
 *   --exit-file PATH       where the monitor writes the task's exit status
 *   --report-fd N          where the monitor reports readiness to the agent
 *   --env-fd N             the task's environment, NUL-separated NAME=value, read to its end:
 *                          this process runs as root on the host with a fixed environment of the
 *                          agent's making, never the task's (LD_PRELOAD, GLIBC_TUNABLES, …)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
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
#include <unistd.h>

#define MAX_JOIN 16
#define MAX_OPS 256
#define MAX_GROUPS 64
#define USERNS_SIZE 65536

struct op {
  const char *type, *flags, *arg, *dst;
};

static struct {
  const char *join[MAX_JOIN];
  int join_fd[MAX_JOIN];
  int njoin;
  const char *netns;
  int new_net;
  const char *root;
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
  char **argv;
} cfg = {.userns_base = -1, .report_fd = -1, .env_fd = -1};

/* The host's root, for opening bind sources before the pivot. */
static int host_root = -1;

/* Pipes between the monitor and the init: to_monitor (init writes), to_init (monitor writes). */
static int to_monitor[2] = {-1, -1}, to_init[2] = {-1, -1};

/* The umask the task starts with (ours is 0 while we make device nodes and mount points). */
static mode_t task_umask = 022;

/* The signals both processes take with sigwaitinfo. */
static sigset_t handled;

/* In the init: report why it fails to the monitor, which reports it to the agent. */
static void init_fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg + 1, sizeof msg - 2, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n > (int)sizeof msg - 3) n = (int)sizeof msg - 3;
  msg[0] = 'E';
  msg[n + 1] = '\n';
  if (write(to_monitor[1], msg, (size_t)n + 2) < 0) { /* the monitor is gone: nothing to tell */
  }
  _exit(125);
}

/* In the monitor, before the init exists: report to the agent and stop. */
static void monitor_fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (cfg.report_fd >= 0) dprintf(cfg.report_fd, "error %s\n", msg);
  else fprintf(stderr, "galaxy-init: %s\n", msg);
  _exit(125);
}

static int has_flag(const char *flags, const char *name) {
  size_t len = strlen(name);
  for (const char *p = flags; p && *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == len && strncmp(p, name, n) == 0) return 1;
    p = end ? end + 1 : NULL;
  }
  return 0;
}

static unsigned long mount_flags(const char *flags) {
  unsigned long f = 0;
  if (has_flag(flags, "ro")) f |= MS_RDONLY;
  if (has_flag(flags, "nosuid")) f |= MS_NOSUID;
  if (has_flag(flags, "nodev")) f |= MS_NODEV;
  if (has_flag(flags, "noexec")) f |= MS_NOEXEC;
  return f;
}

/*
 * Opens `path` (absolute, in the new root when `in_root`) component by component, never following
 * a symlink: a plan's paths are real paths, so a symlink on the way means something changed since
 * the agent checked them. With `create`, missing components are made (directories, or a file for
 * the last one when `file`). Returns an O_PATH descriptor.
 */
static int walk(int base, const char *path, int create, int file) {
  char buf[4096];
  if (path[0] != '/' || strlen(path) >= sizeof buf) {
    errno = EINVAL;
    return -1;
  }
  strcpy(buf, path);
  int fd = dup(base);
  if (fd < 0) return -1;
  char *save = NULL;
  for (char *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, ".") == 0 || strcmp(part, "..") == 0) {
      close(fd);
      errno = EINVAL;
      return -1;
    }
    int last = save == NULL || *save == '\0';
    int next = openat(fd, part, O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
    if (next < 0 && errno == ENOENT && create) {
      int made;
      if (last && file) {
        int f = openat(fd, part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        made = f;
        if (f >= 0) close(f);
      } else {
        made = mkdirat(fd, part, 0755);
      }
      if (made < 0 && errno != EEXIST) {
        close(fd);
        return -1;
      }
      next = openat(fd, part, O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
    }
    close(fd);
    if (next < 0) return -1;
    if (!last) {
      struct stat st;
      if (fstat(next, &st) < 0 || !S_ISDIR(st.st_mode)) {
        close(next);
        errno = ENOTDIR;
        return -1;
      }
    }
    fd = next;
  }
  return fd;
}

/* "/proc/self/fd/N" for an O_PATH descriptor: mount(2) takes the object it names. */
static const char *fd_path(int fd, char *buf, size_t size) {
  snprintf(buf, size, "/proc/self/fd/%d", fd);
  return buf;
}

/* Makes the parent of `dst` in the new root, returning it and the last component. */
static int parent_of(int root, const char *dst, char *name, size_t size) {
  char dir[4096];
  const char *slash = strrchr(dst, '/');
  if (!slash || slash[1] == '\0' || strlen(dst) >= sizeof dir) {
    errno = EINVAL;
    return -1;
  }
  snprintf(name, size, "%s", slash + 1);
  if (slash == dst) return dup(root);
  memcpy(dir, dst, (size_t)(slash - dst));
  dir[slash - dst] = '\0';
  return walk(root, dir, 1, 0);
}

/* Applies `flags` (ro, nosuid, nodev, noexec) to the mount at the O_PATH descriptor. */
static int remount(int fd, unsigned long flags) {
  char p[64];
  /* A bind remount keeps the mount's other flags and changes only these per-mount ones. */
  return mount(NULL, fd_path(fd, p, sizeof p), NULL, MS_REMOUNT | MS_BIND | flags, NULL);
}

static void run_op(int root, const struct op *op) {
  const char *flags = strcmp(op->flags, "-") == 0 ? "" : op->flags;
  unsigned long mflags = mount_flags(flags);
  char p[64], name[256];
  int optional = has_flag(flags, "optional");

  if (strcmp(op->type, "remount") == 0 || strcmp(op->type, "protect") == 0) {
    int fd = strcmp(op->dst, "/") == 0 ? dup(root) : walk(root, op->dst, 0, 0);
    if (fd < 0) {
      if (optional && errno == ENOENT) return;
      init_fail("cannot open %s to remount it: %s", op->dst, strerror(errno));
    }
    if (op->type[0] == 'p') {
      /* A path that is not a mount point of its own becomes one: bound onto itself. */
      if (mount(fd_path(fd, p, sizeof p), p, NULL, MS_BIND | MS_REC, NULL) < 0)
        init_fail("cannot bind %s onto itself: %s", op->dst, strerror(errno));
      close(fd);
      fd = walk(root, op->dst, 0, 0);
      if (fd < 0) init_fail("cannot reopen %s: %s", op->dst, strerror(errno));
    }
    if (remount(fd, mflags) < 0) init_fail("cannot remount %s (%s): %s", op->dst, flags, strerror(errno));
    close(fd);
    return;
  }
  if (strcmp(op->type, "mask") == 0) {
    int fd = walk(root, op->dst, 0, 0);
    if (fd < 0) return; /* nothing to hide */
    struct stat st;
    if (fstat(fd, &st) < 0) init_fail("cannot stat %s: %s", op->dst, strerror(errno));
    int r = S_ISDIR(st.st_mode)
                ? mount("tmpfs", fd_path(fd, p, sizeof p), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
                : mount("/dev/null", fd_path(fd, p, sizeof p), NULL, MS_BIND, NULL);
    if (r < 0) init_fail("cannot hide %s: %s", op->dst, strerror(errno));
    close(fd);
    return;
  }
  if (strcmp(op->type, "symlink") == 0 || strcmp(op->type, "mknod") == 0) {
    int dir = parent_of(root, op->dst, name, sizeof name);
    if (dir < 0) init_fail("cannot make the parent of %s: %s", op->dst, strerror(errno));
    if (op->type[0] == 's') {
      if (symlinkat(op->arg, dir, name) < 0) init_fail("cannot link %s -> %s: %s", op->dst, op->arg, strerror(errno));
    } else {
      unsigned maj = 0, min = 0;
      if (sscanf(op->arg, "%u:%u", &maj, &min) != 2) init_fail("bad device %s for %s", op->arg, op->dst);
      if (mknodat(dir, name, S_IFCHR | 0666, makedev(maj, min)) < 0)
        init_fail("cannot make device %s: %s", op->dst, strerror(errno));
    }
    close(dir);
    return;
  }
  if (strcmp(op->type, "mkdir") == 0) {
    int fd = walk(root, op->dst, 1, 0);
    if (fd < 0) init_fail("cannot make %s: %s", op->dst, strerror(errno));
    mode_t mode = (mode_t)strtol(op->arg, NULL, 8);
    if (fchmodat(AT_FDCWD, fd_path(fd, p, sizeof p), mode, 0) < 0)
      init_fail("cannot chmod %s: %s", op->dst, strerror(errno));
    close(fd);
    return;
  }

  /* The mounting kinds: open (or make) the mount point, then mount onto it. */
  int is_bind = strcmp(op->type, "bind") == 0;
  int src = -1;
  if (is_bind) {
    src = walk(host_root, op->arg, 0, 0);
    if (src < 0) {
      if (optional && errno == ENOENT) return;
      init_fail("cannot open %s to bind it at %s: %s", op->arg, op->dst, strerror(errno));
    }
  }
  int file = has_flag(flags, "file");
  if (src >= 0) {
    struct stat st;
    if (fstat(src, &st) < 0) init_fail("cannot stat %s: %s", op->arg, strerror(errno));
    file = !S_ISDIR(st.st_mode);
  }
  int dst = walk(root, op->dst, 1, file);
  if (dst < 0) init_fail("cannot make the mount point %s: %s", op->dst, strerror(errno));
  char target[64];
  fd_path(dst, target, sizeof target);
  int r;
  if (is_bind) {
    unsigned long bflags = MS_BIND | (has_flag(flags, "rec") ? MS_REC : 0);
    r = mount(fd_path(src, p, sizeof p), target, NULL, bflags, NULL);
    close(src);
    if (r < 0) init_fail("cannot bind %s at %s: %s", op->arg, op->dst, strerror(errno));
    /* A bind mount takes its flags only on a remount; reopen the mount point to reach the new mount. */
    if (mflags != 0) {
      close(dst);
      dst = walk(root, op->dst, 0, 0);
      if (dst < 0 || remount(dst, mflags) < 0)
        init_fail("cannot make %s %s: %s", op->dst, flags, strerror(errno));
    }
  } else if (strcmp(op->type, "tmpfs") == 0) {
    r = mount("tmpfs", target, "tmpfs", mflags, strcmp(op->arg, "-") == 0 ? NULL : op->arg);
    if (r < 0) init_fail("cannot mount a tmpfs at %s: %s", op->dst, strerror(errno));
  } else if (strcmp(op->type, "proc") == 0) {
    r = mount("proc", target, "proc", mflags, NULL);
    if (r < 0) init_fail("cannot mount /proc at %s: %s", op->dst, strerror(errno));
  } else if (strcmp(op->type, "devpts") == 0) {
    r = mount("devpts", target, "devpts", mflags, strcmp(op->arg, "-") == 0 ? NULL : op->arg);
    if (r < 0) init_fail("cannot mount devpts at %s: %s", op->dst, strerror(errno));
  } else {
    init_fail("unknown mount step %s", op->type);
  }
  close(dst);
}

/* Builds the new root on cfg.root from the plan and pivots into it; the host's root is detached. */
static void build_root(void) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    init_fail("cannot make the mount namespace private: %s", strerror(errno));
  if (mount("tmpfs", cfg.root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
    init_fail("cannot mount the root tmpfs on %s: %s", cfg.root, strerror(errno));
  int root = open(cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  host_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || host_root < 0) init_fail("cannot open the roots: %s", strerror(errno));
  for (int i = 0; i < cfg.nops; i++) run_op(root, &cfg.ops[i]);
  close(root);
  close(host_root);
  if (chdir(cfg.root) < 0) init_fail("cannot enter the new root: %s", strerror(errno));
  /* pivot_root(".", "."): the old root ends up on top of the new one, then goes away whole. */
  if (syscall(SYS_pivot_root, ".", ".") < 0) init_fail("pivot_root failed: %s", strerror(errno));
  if (umount2(".", MNT_DETACH) < 0) init_fail("cannot detach the host's root: %s", strerror(errno));
  if (chdir("/") < 0) init_fail("cannot chdir to the new root: %s", strerror(errno));
}

static int cap_last(void) {
  int last = CAP_LAST_CAP;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (f) {
    if (fscanf(f, "%d", &last) != 1) last = CAP_LAST_CAP;
    fclose(f);
  }
  return last;
}

/* Reads the task's environment (NUL-separated NAME=value) from `fd` to its end. */
static void read_env(int fd) {
  size_t size = 0, cap = 4096;
  char *buf = malloc(cap);
  if (!buf) monitor_fail("out of memory");
  for (;;) {
    if (size == cap) {
      if (cap > (64u << 20)) monitor_fail("the task's environment is larger than 64 MiB");
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) monitor_fail("out of memory");
    }
    ssize_t n = read(fd, buf + size, cap - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) monitor_fail("cannot read the task's environment: %s", strerror(errno));
    if (n == 0) break;
    size += (size_t)n;
  }
  close(fd);
  size_t count = 0;
  for (size_t k = 0; k < size; k++) count += buf[k] == '\0';
  cfg.envp = calloc(count + 1, sizeof *cfg.envp);
  if (!cfg.envp) monitor_fail("out of memory");
  size_t at = 0, start = 0;
  for (size_t k = 0; k < size; k++) {
    if (buf[k] != '\0') continue;
    if (k > start) cfg.envp[at++] = buf + start;
    start = k + 1;
  }
  cfg.envp[at] = NULL;
}

/* Moves the calling process into the container's cgroups ("0": the writer), and closes them. */
static int join_cgroups(void) {
  for (int k = 0; k < cfg.njoin; k++) {
    if (write(cfg.join_fd[k], "0\n", 2) != 2) return -1;
    close(cfg.join_fd[k]);
    cfg.join_fd[k] = -1;
  }
  return 0;
}

/* Drops every capability outside cfg.caps from the bounding set; `keep_sets` also sets the
 * permitted and effective sets to the mask (a root task), else they are left to the uid change. */
static void drop_caps(int last, int keep_sets) {
  for (int c = 0; c <= last; c++) {
    if (cfg.caps & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      init_fail("cannot drop capability %d: %s", c, strerror(errno));
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (keep_sets) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    d[0].permitted = d[0].effective = (uint32_t)cfg.caps;
    d[1].permitted = d[1].effective = (uint32_t)(cfg.caps >> 32);
    if (syscall(SYS_capset, &h, d) < 0) init_fail("cannot set capabilities: %s", strerror(errno));
  }
}

static void read_exactly(int fd, char *c) {
  for (;;) {
    ssize_t n = read(fd, c, 1);
    if (n == 1) return;
    if (n < 0 && errno == EINTR) continue;
    init_fail("the monitor went away");
  }
}

/* Becomes the task's user: the user namespace's root, a named host user, or real root. */
static void become_user(int last) {
  if (cfg.userns_base >= 0) {
    if (unshare(CLONE_NEWUSER) < 0) init_fail("cannot create a user namespace: %s", strerror(errno));
    char c = 'U';
    if (write(to_monitor[1], &c, 1) != 1) init_fail("the monitor went away");
    read_exactly(to_init[0], &c);
    if (c != 'M') init_fail("the monitor could not map the user namespace");
    if (setgroups(0, NULL) < 0) init_fail("setgroups: %s", strerror(errno));
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) init_fail("cannot become the container's root: %s", strerror(errno));
    drop_caps(last, 1);
  } else if (cfg.run_as) {
    drop_caps(last, 0);
    if (setgroups((size_t)cfg.ngroups, cfg.groups) < 0) init_fail("setgroups: %s", strerror(errno));
    if (setresgid(cfg.gid, cfg.gid, cfg.gid) < 0 || setresuid(cfg.uid, cfg.uid, cfg.uid) < 0)
      init_fail("cannot become uid %u: %s", (unsigned)cfg.uid, strerror(errno));
    if (cfg.uid == 0) drop_caps(last, 1);
  } else {
    drop_caps(last, 1);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) init_fail("cannot set no_new_privs: %s", strerror(errno));
}

/* The task: default signal handling, its own session, then exec; a failed exec is reported. */
static void exec_task(int report) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  umask(task_umask);
  setsid();
  if (cfg.envp) environ = cfg.envp; /* execvp searches the task's PATH, in its environment */
  execvp(cfg.argv[0], cfg.argv);
  dprintf(report, "cannot run %s: %s", cfg.argv[0], strerror(errno));
  _exit(127);
}

/* Our argv (host paths of the agent's work dir, the cgroups, the plan) is readable by anyone in
 * the container as /proc/1/cmdline; once the task runs we need none of it, so it goes. */
static char *args_start, *args_end;
static void hide_args(void) {
  if (!args_start || args_end <= args_start) return;
  memset(args_start, 0, (size_t)(args_end - args_start));
  snprintf(args_start, (size_t)(args_end - args_start), "galaxy-init");
}

/* pid 1 of the container. */
static int init_main(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  close(to_monitor[0]);
  close(to_init[1]);
  int last = cap_last();
  build_root();
  if (cfg.chdir && chdir(cfg.chdir) < 0) init_fail("cannot enter %s: %s", cfg.chdir, strerror(errno));
  /* From here on everything is in the container's cgroups: nothing of the task runs outside. */
  if (join_cgroups() < 0) init_fail("cannot join the container's cgroups: %s", strerror(errno));
  become_user(last);

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) < 0) init_fail("pipe: %s", strerror(errno));
  pid_t task = fork();
  if (task < 0) init_fail("fork: %s", strerror(errno));
  if (task == 0) {
    close(exec_pipe[0]);
    close(to_monitor[1]);
    close(to_init[0]);
    exec_task(exec_pipe[1]);
  }
  close(exec_pipe[1]);
  char why[512];
  ssize_t n;
  do n = read(exec_pipe[0], why, sizeof why - 1);
  while (n < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (n > 0) {
    why[n] = '\0';
    waitpid(task, NULL, 0);
    init_fail("%s", why);
  }
  char ready = 'R';
  if (write(to_monitor[1], &ready, 1) != 1) { /* the monitor is gone: PDEATHSIG follows */
  }
  hide_args();
  close(to_monitor[1]);
  close(to_init[0]);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&handled, &info);
    if (sig < 0) continue;
    if (sig == SIGTERM || sig == SIGINT) {
      /* Everything in the namespace is the task's: it all gets the signal, as from a shell's kill. */
      kill(-1, sig);
    } else if (sig != SIGCHLD) {
      kill(task, sig);
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != task) continue;
      /* The task is done; the kernel ends what is left in the namespace when pid 1 exits. */
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
}

static void write_exit_file(int code) {
  if (!cfg.exit_file) return;
  int fd = open(cfg.exit_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  dprintf(fd, "%d\n", code);
  close(fd);
}

static void write_map(pid_t pid, const char *what, long long base) {
  char path[64], line[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
  int n = snprintf(line, sizeof line, "0 %lld %d\n", base, USERNS_SIZE);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, line, (size_t)n) != n) {
    kill(pid, SIGKILL);
    monitor_fail("cannot write %s: %s", path, strerror(errno));
  }
  close(fd);
}

/* The monitor: maps the user namespace, reports readiness, forwards signals, records the exit. */
static char why_buf[256];
static int monitor_main(pid_t init) {
  close(to_monitor[1]);
  close(to_init[0]);
  char c;
  for (;;) {
    ssize_t n = read(to_monitor[0], &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      c = 0;
      break;
    }
    if (c == 'U') {
      write_map(init, "uid_map", cfg.userns_base);
      write_map(init, "gid_map", cfg.userns_base);
      char m = 'M';
      if (write(to_init[1], &m, 1) != 1) break;
      continue;
    }
    break;
  }
  /* The monitor joins too (it is the container's leader the agent knows), before it says ok. */
  if (c == 'R' && join_cgroups() < 0) {
    kill(init, SIGKILL);
    snprintf(why_buf, sizeof why_buf, "cannot join the container's cgroups: %s", strerror(errno));
    c = 'J';
  }
  if (c == 'R') {
    if (cfg.report_fd >= 0) dprintf(cfg.report_fd, "ok %d\n", (int)init);
  } else if (c == 'J') {
    if (cfg.report_fd >= 0) dprintf(cfg.report_fd, "error %s\n", why_buf);
  } else {
    char why[1024] = "the container's init ended before the task started";
    if (c == 'E') {
      ssize_t n = read(to_monitor[0], why, sizeof why - 1);
      why[n > 0 ? n : 0] = '\0';
      char *nl = strchr(why, '\n');
      if (nl) *nl = '\0';
    }
    if (cfg.report_fd >= 0) dprintf(cfg.report_fd, "error %s\n", why);
  }
  if (cfg.report_fd >= 0) close(cfg.report_fd);
  close(to_monitor[0]);
  close(to_init[1]);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&handled, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(init, sig);
      continue;
    }
    int status;
    pid_t pid = waitpid(init, &status, WNOHANG);
    if (pid != init) continue;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (c == 'R') write_exit_file(code);
    return code;
  }
}

static void parse(int argc, char **argv) {
  int i = 1;
#define NEED(n)                                                  \
  do {                                                           \
    if (i + (n) >= argc) monitor_fail("%s needs %d argument(s)", argv[i], n); \
  } while (0)
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--join") == 0) {
      NEED(1);
      if (cfg.njoin == MAX_JOIN) monitor_fail("too many --join");
      cfg.join[cfg.njoin++] = argv[++i];
    } else if (strcmp(a, "--netns") == 0) {
      NEED(1);
      cfg.netns = argv[++i];
    } else if (strcmp(a, "--new-net") == 0) {
      cfg.new_net = 1;
    } else if (strcmp(a, "--root") == 0) {
      NEED(1);
      cfg.root = argv[++i];
    } else if (strcmp(a, "--op") == 0) {
      NEED(4);
      if (cfg.nops == MAX_OPS) monitor_fail("too many --op");
      struct op *op = &cfg.ops[cfg.nops++];
      op->type = argv[i + 1];
      op->flags = argv[i + 2];
      op->arg = argv[i + 3];
      op->dst = argv[i + 4];
      i += 4;
    } else if (strcmp(a, "--chdir") == 0) {
      NEED(1);
      cfg.chdir = argv[++i];
    } else if (strcmp(a, "--userns") == 0) {
      NEED(1);
      cfg.userns_base = strtoll(argv[++i], NULL, 10);
      if (cfg.userns_base <= 0 || cfg.userns_base + USERNS_SIZE > 4294967295LL) monitor_fail("bad --userns base");
    } else if (strcmp(a, "--user") == 0) {
      NEED(3);
      cfg.run_as = 1;
      cfg.uid = (uid_t)strtoul(argv[i + 1], NULL, 10);
      cfg.gid = (gid_t)strtoul(argv[i + 2], NULL, 10);
      const char *g = argv[i + 3];
      if (strcmp(g, "-") != 0) {
        for (const char *p = g; *p && cfg.ngroups < MAX_GROUPS;) {
          cfg.groups[cfg.ngroups++] = (gid_t)strtoul(p, NULL, 10);
          p = strchr(p, ',');
          if (!p) break;
          p++;
        }
      }
      i += 3;
    } else if (strcmp(a, "--caps") == 0) {
      NEED(1);
      cfg.caps = strtoull(argv[++i], NULL, 16);
      cfg.caps_set = 1;
    } else if (strcmp(a, "--exit-file") == 0) {
      NEED(1);
      cfg.exit_file = argv[++i];
    } else if (strcmp(a, "--report-fd") == 0) {
      NEED(1);
      cfg.report_fd = atoi(argv[++i]);
    } else if (strcmp(a, "--env-fd") == 0) {
      NEED(1);
      cfg.env_fd = atoi(argv[++i]);
    } else {
      monitor_fail("unknown option %s", a);
    }
  }
  if (i >= argc) monitor_fail("no program to run");
  if (!cfg.root) monitor_fail("--root is required");
  if (!cfg.caps_set) monitor_fail("--caps is required");
  cfg.argv = &argv[i];
}

int main(int argc, char **argv) {
  /* First: the signals we handle are queued, never acted on, until sigwaitinfo takes them. */
  sigemptyset(&handled);
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};
  for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaddset(&handled, sigs[k]);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  /* The agent may be gone when we report: a write to its closed pipe must not kill us. */
  signal(SIGPIPE, SIG_IGN);
  task_umask = umask(0);
  parse(argc, argv);
  args_start = argv[0];
  args_end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
  if (cfg.report_fd >= 0) fcntl(cfg.report_fd, F_SETFD, FD_CLOEXEC);
  if (cfg.env_fd >= 0) read_env(cfg.env_fd);

  /* The cgroups are joined once the container's root is built (by the init, then by us): the
   * agent's own setup work is not the task's to pay for out of its cpu quota. Opened now, so a
   * missing cgroup fails before anything is made. */
  for (int k = 0; k < cfg.njoin; k++) {
    cfg.join_fd[k] = open(cfg.join[k], O_WRONLY | O_CLOEXEC);
    if (cfg.join_fd[k] < 0) monitor_fail("cannot open %s: %s", cfg.join[k], strerror(errno));
  }
  if (cfg.netns) {
    int fd = open(cfg.netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) monitor_fail("cannot join %s: %s", cfg.netns, strerror(errno));
    close(fd);
  }
  if (pipe2(to_monitor, O_CLOEXEC) < 0 || pipe2(to_init, O_CLOEXEC) < 0) monitor_fail("pipe: %s", strerror(errno));

  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (cfg.new_net ? CLONE_NEWNET : 0);
  /* A raw clone without a new stack works like fork: the child runs on a copy of ours. */
  pid_t init = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (init < 0) monitor_fail("cannot create the namespaces: %s", strerror(errno));
  if (init == 0) {
    if (cfg.report_fd >= 0) close(cfg.report_fd);
    signal(SIGPIPE, SIG_DFL);
    _exit(init_main());
  }
  return monitor_main(init);
}
