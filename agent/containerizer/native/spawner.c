/*
 * galaxy-init --spawner: starts containers' helpers for the agent, so that the agent never forks
 * itself per container. A helper that is this binary runs in the fork (helper_main), without an
 * exec: loading the same program again was the largest single step of a launch. A fork of the agent (a Node process of a hundred MiB or more) copies its
 * page tables and blocks its event loop until the child has exec'd: tens of milliseconds each on
 * a loaded machine, during which no status update moves. This small process forks instead.
 *
 * The agent starts one spawner and writes requests on its stdin; each request is a list of
 * NUL-terminated fields, each a letter and a value, ended by an empty field:
 *
 *   T<tag>          the request's tag (the agent's, echoed on every line about it)
 *   D<dir>          the directory the helper starts in (the sandbox)
 *   O<path> E<path> the task's stdout and stderr files (opened O_APPEND|O_CREAT|O_NOFOLLOW)
 *   U<uid>:<gid>    owner of the output files (the container's root on the host); optional
 *   H<NAME=value>   the helper's own environment (fixed by the agent, never the task's)
 *   V<NAME=value>   the task's environment: handed to the helper on --env-fd (a memfd)
 *   A<arg>          the helper's argv, in order (wrappers first; searched in the helper's PATH)
 *
 * The child gets stdin /dev/null, stdout and stderr the task's files, descriptor 3 a pipe whose
 * first line the spawner relays (--report-fd 3), descriptor 4 the environment (--env-fd 4), its
 * own session, the default signal mask and dispositions, and nothing else; then it runs the
 * helper (or execs a wrapper) exactly as the agent used to spawn it. The spawner writes on its stdout, one line each:
 *
 *   <tag> pid <pid>            the helper (the container's monitor) was forked
 *   <tag> set                  the helper's first line was "set": its container is set up, only
 *                              the task's exec remains (at most once, before the report)
 *   <tag> report <line>        the helper's report: "ok <init pid>", "error <why>", or empty
 *   <tag> exit <code> <signal> it ended (code -1 when killed by a signal; signal 0 otherwise)
 *
 * The report always comes before the exit. At the end of its stdin (the agent stopped or died)
 * the spawner exits at once and leaves its children running: they are containers' monitors,
 * which outlive an agent restart by design (init adopts them; the agent re-attaches).
 */
#include "galaxy-init.h"
#include <poll.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>

#define MAX_CHILDREN 4096
#define MAX_REQUEST (80u << 20)

/* A forked helper: its tag and the read end of its report pipe (-1 once relayed). */
struct child {
  pid_t pid;
  char tag[32];
  int report;
  char line[1100];
  size_t len;
  int set_relayed;
};
static struct child children[MAX_CHILDREN];
static int nchildren;
/* The buffer of the agent's requests (for a helper run in the fork to wipe). */
static char *requests;
static size_t requests_cap;
/* This binary's own path (empty when unknown, or replaced on disk since it started: then exec). */
static char self_exe[PATH_MAX];

/* One line on stdout, in a single write (shorter than PIPE_BUF: lines never interleave). */
static void out(const char *fmt, ...) {
  char buf[1400];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  if (write(1, buf, (size_t)n) < 0) _exit(0); /* the agent is gone */
}

/* Relays a child's report (its first line, or empty) once, and closes the pipe. */
static void relay(struct child *c) {
  if (c->report < 0) return;
  c->line[c->len] = '\0';
  char *nl = strchr(c->line, '\n');
  if (nl) *nl = '\0';
  out("%s report %s", c->tag, c->line);
  close(c->report);
  c->report = -1;
}

/* Relays the helper's "set" line (its container is set up; galaxy-init.c) as soon as it comes,
 * once, and takes it off the report. */
static void relay_set(struct child *c) {
  if (c->set_relayed || c->len < 4 || memcmp(c->line, "set\n", 4) != 0) return;
  c->set_relayed = 1;
  out("%s set", c->tag);
  memmove(c->line, c->line + 4, c->len - 4);
  c->len -= 4;
}

/* Reads what a child's report pipe holds; relays at its end. */
static void drain(struct child *c, int block) {
  while (c->report >= 0) {
    if (c->len >= sizeof c->line - 1) {
      relay(c);
      return;
    }
    ssize_t n = read(c->report, c->line + c->len, sizeof c->line - 1 - c->len);
    if (n > 0) {
      c->len += (size_t)n;
      relay_set(c);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && !block) return;
    relay(c);
  }
}

/*
 * Points the kernel's view of our argv and environment (/proc/self/cmdline, /proc/self/environ)
 * at [args, args_end) and [args_end, env_end): prctl(PR_SET_MM_MAP) with the rest of the map as it
 * is (read from /proc/self/stat). Unlike the single PR_SET_MM fields it needs no CAP_SYS_RESOURCE.
 */
static int set_mm_args(unsigned long args, unsigned long args_end, unsigned long env_end) {
  char buf[2048];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  /* Fields from 3 (the state) on: startcode 26, endcode 27, startstack 28, start_data 45, end_data 46, start_brk 47. */
  unsigned long long field[52] = {0};
  int k = 3;
  char *save = NULL;
  for (char *t = strtok_r(p + 1, " ", &save); t && k < 52; t = strtok_r(NULL, " ", &save)) field[k++] = strtoull(t, NULL, 10);
  if (k < 48) return -1;
  struct prctl_mm_map map = {
      .start_code = field[26],
      .end_code = field[27],
      .start_data = field[45],
      .end_data = field[46],
      .start_brk = field[47],
      .brk = (uint64_t)(uintptr_t)sbrk(0),
      .start_stack = field[28],
      .arg_start = args,
      .arg_end = args_end,
      .env_start = args_end,
      .env_end = env_end,
      .exe_fd = (uint32_t)-1,
  };
  return prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof map, 0);
}

/*
 * Makes this fork look on the host as if it had exec'd `argv` with `env`: its /proc cmdline and
 * environ show them (tools and operators find a container's helper by them, and the init blanks
 * its own host paths from the same area). Returns the argv to run with, its strings in that area,
 * and points `environ` there too; NULL when the kernel refuses (then the caller execs instead).
 */
static char **as_if_execd(char **argv, int argc, char **env) {
  size_t alen = 0, elen = 0;
  int envc = 0;
  for (int k = 0; k < argc; k++) alen += strlen(argv[k]) + 1;
  for (char **e = env; *e; e++, envc++) elen += strlen(*e) + 1;
  char *area = mmap(NULL, alen + elen + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char **args = calloc((size_t)argc + 1, sizeof *args);
  char **envp = calloc((size_t)envc + 1, sizeof *envp);
  if (area == MAP_FAILED || !args || !envp) return NULL;
  char *at = area;
  for (int k = 0; k < argc; k++) {
    args[k] = at;
    at = stpcpy(at, argv[k]) + 1;
  }
  for (int k = 0; k < envc; k++) {
    envp[k] = at;
    at = stpcpy(at, env[k]) + 1;
  }
  unsigned long base = (unsigned long)area;
  if (set_mm_args(base, base + alen, base + alen + elen) < 0) return NULL;
  environ = envp;
  return args;
}

/* In the forked child: the fields of one request, then exec. Never returns. */
static void start_helper(char **fields, int nfields, int report_w) {
  const char *dir = NULL, *stdout_path = NULL, *stderr_path = NULL;
  long long uid = -1, gid = -1;
  char **argv = calloc((size_t)nfields + 1, sizeof *argv);
  char **env = calloc((size_t)nfields + 1, sizeof *env);
  int argc = 0, envc = 0;
  int memfd = (int)syscall(SYS_memfd_create, "galaxy-env", 0);
  if (!argv || !env || memfd < 0) {
    dprintf(report_w, "error cannot prepare the helper: %s\n", strerror(errno));
    _exit(125);
  }
  for (int k = 0; k < nfields; k++) {
    char *v = fields[k] + 1;
    switch (fields[k][0]) {
      case 'D': dir = v; break;
      case 'O': stdout_path = v; break;
      case 'E': stderr_path = v; break;
      case 'U': sscanf(v, "%lld:%lld", &uid, &gid); break;
      case 'H': env[envc++] = v; break;
      case 'A': argv[argc++] = v; break;
      case 'V': {
        size_t len = strlen(v) + 1;
        for (size_t at = 0; at < len;) {
          ssize_t n = write(memfd, v + at, len - at);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            dprintf(report_w, "error cannot pass the task's environment: %s\n", strerror(errno));
            _exit(125);
          }
          at += (size_t)n;
        }
        break;
      }
      default: break;
    }
  }
  if (argc == 0 || !dir || !stdout_path || !stderr_path) {
    dprintf(report_w, "error the spawner got an incomplete request\n");
    _exit(125);
  }
  lseek(memfd, 0, SEEK_SET);
  int flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
  int so = open(stdout_path, flags, 0644), se = open(stderr_path, flags, 0644);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (so < 0 || se < 0 || null < 0) {
    dprintf(report_w, "error cannot open the task's output files: %s\n", strerror(errno));
    _exit(125);
  }
  /* The task owns its output, as it owns its sandbox (the spawner opened the files, not the task). */
  if (uid >= 0 && (fchown(so, (uid_t)uid, (gid_t)gid) < 0 || fchown(se, (uid_t)uid, (gid_t)gid) < 0)) {
    dprintf(report_w, "error cannot give the task its output files: %s\n", strerror(errno));
    _exit(125);
  }
  if (chdir(dir) < 0) {
    dprintf(report_w, "error cannot start in %s: %s\n", dir, strerror(errno));
    _exit(125);
  }
  /* Descriptors 0-4 as the helper expects them: move ours above 4 first, then dup into place. */
  int fds[] = {null, so, se, report_w, memfd};
  for (int k = 0; k < 5; k++) {
    int high = fcntl(fds[k], F_DUPFD_CLOEXEC, 10);
    if (high < 0) _exit(125);
    fds[k] = high;
  }
  for (int k = 0; k < 5; k++)
    if (dup2(fds[k], k) < 0) _exit(125);
  syscall(SYS_close_range, 5, ~0U, 0);
  setsid();
  default_signals();
  environ = env; /* execvp searches the helper's PATH */
  /* The helper is this binary: run it here. An exec would load the same program again (and its
   * libraries): the largest single step of a launch, measured (docs/security.md). */
  char resolved[PATH_MAX];
  if (self_exe[0] && realpath(argv[0], resolved) && strcmp(resolved, self_exe) == 0) {
    char **args = as_if_execd(argv, argc, env);
    if (args) {
      /* What the spawner read may hold other containers' requests (their tasks' environments):
       * none of it goes on into this container's monitor and init, as none did through an exec. */
      explicit_bzero(requests, requests_cap);
      _exit(helper_main(argc, args));
    }
  }
  execvp(argv[0], argv);
  dprintf(3, "error cannot start %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

/* Forks the helper of one request (fields[0..n)). */
static void spawn_request(char **fields, int n) {
  const char *tag = "?";
  for (int k = 0; k < n; k++)
    if (fields[k][0] == 'T') tag = fields[k] + 1;
  if (nchildren == MAX_CHILDREN) {
    out("%s report error the spawner has %d helpers running already", tag, MAX_CHILDREN);
    out("%s exit 125 0", tag);
    return;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    out("%s report error pipe: %s", tag, strerror(errno));
    out("%s exit 125 0", tag);
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    out("%s report error fork: %s", tag, strerror(errno));
    out("%s exit 125 0", tag);
    return;
  }
  if (pid == 0) {
    close(p[0]);
    start_helper(fields, n, p[1]);
  }
  close(p[1]);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  struct child *c = &children[nchildren++];
  memset(c, 0, sizeof *c);
  c->pid = pid;
  snprintf(c->tag, sizeof c->tag, "%s", tag);
  c->report = p[0];
  out("%s pid %d", c->tag, (int)pid);
}

/* Reaps ended helpers: each one's report (if not relayed yet), then its exit. */
static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int k = 0; k < nchildren; k++) {
      if (children[k].pid != pid) continue;
      drain(&children[k], 1);
      if (WIFEXITED(status)) out("%s exit %d 0", children[k].tag, WEXITSTATUS(status));
      else out("%s exit -1 %d", children[k].tag, WTERMSIG(status));
      children[k] = children[--nchildren];
      break;
    }
  }
}

int spawner_main(void) {
  if (!realpath("/proc/self/exe", self_exe)) self_exe[0] = '\0';
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    fprintf(stderr, "galaxy-init: signalfd: %s\n", strerror(errno));
    return 1;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  requests = buf;
  requests_cap = buf ? cap : 0;
  static struct pollfd pfd[MAX_CHILDREN + 2];
  static struct child *polled[MAX_CHILDREN + 2];
  for (;;) {
    int n = 0;
    pfd[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (int k = 0; k < nchildren; k++)
      if (children[k].report >= 0) {
        polled[n] = &children[k];
        pfd[n++] = (struct pollfd){.fd = children[k].report, .events = POLLIN};
      }
    if (poll(pfd, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (int k = 2; k < n; k++)
      if (pfd[k].revents) drain(polled[k], 0);
    if (pfd[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      reap();
    }
    if (!pfd[0].revents) continue;
    if (len == cap) {
      if (cap >= MAX_REQUEST) {
        fprintf(stderr, "galaxy-init: a spawn request is larger than %u bytes\n", MAX_REQUEST);
        return 1;
      }
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) return 1;
      requests = buf;
      requests_cap = cap;
    }
    ssize_t got = read(0, buf + len, cap - len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return 0; /* the agent is gone: leave the monitors be */
    len += (size_t)got;
    /* Every complete request: fields up to an empty one. */
    for (;;) {
      size_t at = 0;
      int nfields = 0, done = 0;
      while (at < len) {
        char *end = memchr(buf + at, '\0', len - at);
        if (!end) break;
        if (end == buf + at) {
          done = 1;
          at++;
          break;
        }
        nfields++;
        at = (size_t)(end - buf) + 1;
      }
      if (!done) break;
      char **fields = calloc((size_t)nfields + 1, sizeof *fields);
      if (!fields) return 1;
      for (size_t p = 0, k = 0; (int)k < nfields; k++) {
        fields[k] = buf + p;
        p += strlen(buf + p) + 1;
      }
      spawn_request(fields, nfields);
      free(fields);
      memmove(buf, buf + at, len - at);
      len -= at;
    }
  }
}
