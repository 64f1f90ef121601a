/*
 * galaxy-init (this file: main, the monitor and the init; config.c, root.c and user.c: the rest)
 * starts one Galaxy container in one exec, as crun or Mesos' `mesos-containerizer launch` do.
 * The agent spawns it as root on the host, with an environment of its own making (the task's
 * comes through --env-fd, to the task's exec only) and the task's output files; it
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
 *   5. it drops the capability bounding set to the agent's mask, sets no_new_privs, and starts the
 *      task (vfork and exec), then stays pid 1: it passes SIGTERM/SIGINT to everything in the
 *      namespace, reaps orphans, writes the task's output to its sandbox (logs.c), and exits with
 *      the task's status once the task ends;
 *   6. this process stays outside as the container's monitor: it joins the cgroups while the init
 *      builds the root, passes the agent's signals to the init and writes the task's exit status to
 *      --exit-file for an agent that restarted meanwhile.
 *
 * Signals never get lost: both processes keep the signals they handle blocked from their first
 * instruction and take them with sigwaitinfo(); a blocked signal is queued even for a namespace's
 * init. The agent learns on --report-fd "ok <init pid>" once the task has exec'd, or
 * "error <why>" when anything before that failed; before either, "set" once the container is set
 * up and only the task's fork and exec remain (the agent frees its launch slot then).
 *
 * Usage: galaxy-init [options] -- program [args...]
 *        galaxy-init --spawner   (the agent's one helper that forks the others: spawner.c)
 *   --join FILE            a cgroup.procs the container joins (repeatable)
 *   --netns PATH           join this network namespace
 *   --new-net              a new, empty network namespace
 *   --root DIR             an empty directory to mount the new root on (in our mount namespace)
 *   --image LOWER UPPER WORK  the root is an overlay: the unpacked image LOWER (read-only, shared;
 *                          with --userns seen through an idmapped mount, so the image's root is
 *                          the container's root), the container's own UPPER and WORK directories
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
 *   --log-dir DIR MAX FILES  the task's stdout and stderr are pipes the init writes (logs.c) to
 *                          DIR/stdout and DIR/stderr (DIR: the sandbox, at the same path in the
 *                          container), rotated past MAX bytes, FILES kept each, as the task's user;
 *                          else they are our own 1 and 2
 *   --env-fd N             the task's environment, NUL-separated NAME=value, read to its end:
 *                          this process runs as root on the host with a fixed environment of the
 *                          agent's making, never the task's (LD_PRELOAD, GLIBC_TUNABLES, …)
 */
#include "galaxy-init.h"
#include <poll.h>
#include <sys/signalfd.h>

int to_monitor[2] = {-1, -1}, to_init[2] = {-1, -1};

/* The umask the task starts with (ours is 0 while we make device nodes and mount points). */
static mode_t task_umask = 022;

/* The signals both processes take with sigwaitinfo. */
static sigset_t handled;

/* In the init: report why it fails to the monitor, which reports it to the agent. */
void init_fail(const char *fmt, ...) {
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

/* Moves the calling process into the container's cgroups ("0": the writer), and closes them. */
static int join_cgroups(void) {
  for (int k = 0; k < cfg.njoin; k++) {
    if (write(cfg.join_fd[k], "0\n", 2) != 2) return -1;
    close(cfg.join_fd[k]);
    cfg.join_fd[k] = -1;
  }
  return 0;
}

/* Every signal's default action and none blocked: what a process exec'd from here starts with. */
void default_signals(void) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The task, in the init's vfork (our memory, until the exec: it writes none of it): default
 * signal handling, its own session, then exec; a failed exec is reported. */
static void exec_task(int report) {
  default_signals();
  umask(task_umask);
  setsid();
  /* execvpe searches the task's PATH, in its environment */
  execvpe(cfg.argv[0], cfg.argv, cfg.envp ? cfg.envp : environ);
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

/*
 * In the init: the next signal it handles, or -1 when none came. Without task output to write it
 * waits for one (sigwaitinfo); with it (`sigs`, a signalfd of the same signals) it waits for a
 * signal or output, and writes the output that came.
 */
static int next_signal(int sigs) {
  if (sigs < 0) {
    siginfo_t info;
    return sigwaitinfo(&handled, &info);
  }
  struct pollfd fds[3] = {{.fd = sigs, .events = POLLIN}};
  int n = 1 + log_pollfds(fds, 1);
  if (poll(fds, (nfds_t)n, -1) < 0) return -1;
  pump_logs(0);
  if (!(fds[0].revents & POLLIN)) return -1;
  struct signalfd_siginfo si;
  if (read(sigs, &si, sizeof si) != (ssize_t)sizeof si) return -1;
  return (int)si.ssi_signo;
}

/* pid 1 of the container. */
static int init_main(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  close(to_monitor[0]);
  close(to_init[1]);
  trace("init runs");
  int last = cap_last();
  build_root();
  trace("root built");
  if (cfg.chdir && chdir(cfg.chdir) < 0) init_fail("cannot enter %s: %s", cfg.chdir, strerror(errno));
  if (cfg.log_dir) open_log_dir();
  /* From here on everything is in the container's cgroups: nothing of the task runs outside. */
  if (join_cgroups() < 0) init_fail("cannot join the container's cgroups: %s", strerror(errno));
  trace("init joined the cgroups");
  become_user(last);
  trace("user and capabilities set");
  /* The container is set up: the agent may start setting up the next one while this one forks
   * and execs its task (the launch itself still waits for "ok", or fails with the exec). */
  char set_up = 'S';
  if (write(to_monitor[1], &set_up, 1) != 1) { /* the monitor is gone: PDEATHSIG follows */
  }

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) < 0) init_fail("pipe: %s", strerror(errno));
  /* vfork: no copy of our memory for a process that only execs (a fork's copy and its page
   * faults were a large part of a launch's cost); we wait here until it has exec'd or failed. */
  pid_t task = vfork();
  if (task < 0) init_fail("vfork: %s", strerror(errno));
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
  trace("task exec'd");
  char ready = 'R';
  if (write(to_monitor[1], &ready, 1) != 1) { /* the monitor is gone: PDEATHSIG follows */
  }
  hide_args();
  close(to_monitor[1]);
  close(to_init[0]);
  /* The task's output: the task holds the pipes now; the files are made as its user. */
  int sigs = -1;
  if (cfg.log_dir) {
    release_log_pipes();
    open_log_files();
    sigs = signalfd(-1, &handled, SFD_CLOEXEC);
    if (sigs < 0) init_fail("signalfd: %s", strerror(errno));
  }

  for (;;) {
    int sig = next_signal(sigs);
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
      /* The task is done; the kernel ends what is left in the namespace when pid 1 exits. Its
       * output is in the pipes (a pipe's write is done once it returns): written out first. */
      if (cfg.log_dir) pump_logs(1);
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

void write_map(pid_t pid, const char *what, long long base) {
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
  /* The monitor joins the cgroups too (it is the container's leader the agent knows), while the
   * init builds the root: off the launch's critical path, where it cost a step after the task's
   * exec. It only waits from here on, so nothing of the setup is charged to the task. */
  int joined = join_cgroups();
  int join_errno = errno;
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
      trace("user namespace mapped");
      char m = 'M';
      if (write(to_init[1], &m, 1) != 1) break;
      continue;
    }
    if (c == 'S') {
      if (cfg.report_fd >= 0) dprintf(cfg.report_fd, "set\n");
      continue;
    }
    break;
  }
  if (c == 'R' && joined < 0) {
    kill(init, SIGKILL);
    snprintf(why_buf, sizeof why_buf, "cannot join the container's cgroups: %s", strerror(join_errno));
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
    trace("init exited");
    if (c == 'R') write_exit_file(code);
    trace("exit file written");
    return code;
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--spawner") == 0) return spawner_main();
  return helper_main(argc, argv);
}

/* One container: exec'd (wrappers, tests), or called in the spawner's fork (spawner.c). */
int helper_main(int argc, char **argv) {
  /* First: the signals we handle are queued, never acted on, until sigwaitinfo takes them. */
  sigemptyset(&handled);
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};
  for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaddset(&handled, sigs[k]);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  /* The agent may be gone when we report: a write to its closed pipe must not kill us. */
  signal(SIGPIPE, SIG_IGN);
  task_umask = umask(0);
  trace_open();
  trace("helper exec'd");
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
  if (cfg.image_lower && cfg.userns_base >= 0) make_idmap_userns();

  if (cfg.log_dir) open_log_pipes();

  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (cfg.new_net ? CLONE_NEWNET : 0);
  /* A raw clone without a new stack works like fork: the child runs on a copy of ours. */
  pid_t init = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (init < 0) monitor_fail("cannot create the namespaces: %s", strerror(errno));
  if (init == 0) {
    if (cfg.report_fd >= 0) close(cfg.report_fd);
    signal(SIGPIPE, SIG_DFL);
    _exit(init_main());
  }
  if (cfg.log_dir) {
    release_log_pipes();
    close_log_inputs();
  }
  trace("init cloned");
  return monitor_main(init);
}
