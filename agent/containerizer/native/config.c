/*
 * galaxy-init's configuration: its options (see galaxy-init.c for their meaning) and the task's
 * environment, read from a pipe so that it is never the helper's own.
 */
#include "galaxy-init.h"

struct config cfg = {.userns_base = -1, .idmap_fd = -1, .report_fd = -1, .env_fd = -1, };

static int trace_fd = -1;
static const char *trace_task = "-";

void trace_open(void) {
  const char *file = getenv("GALAXY_LAUNCH_TRACE");
  if (!file || file[0] != '/') return;
  trace_fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  const char *task = getenv("GALAXY_TASK_ID");
  if (task) trace_task = task;
}

void trace(const char *step) {
  if (trace_fd < 0) return;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  char line[256];
  int n = snprintf(line, sizeof line, "%lld %s %d %s\n", (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000, trace_task,
                   (int)getpid(), step);
  if (n > 0 && write(trace_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
  }
}

/* In the monitor, before the init exists: report to the agent and stop. */
void monitor_fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (cfg.report_fd >= 0) dprintf(cfg.report_fd, "error %s\n", msg);
  else fprintf(stderr, "galaxy-init: %s\n", msg);
  _exit(125);
}

/* Reads the task's environment (NUL-separated NAME=value) from `fd` to its end. */
void read_env(int fd) {
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

void parse(int argc, char **argv) {
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
    } else if (strcmp(a, "--image") == 0) {
      NEED(3);
      cfg.image_lower = argv[i + 1];
      cfg.image_upper = argv[i + 2];
      cfg.image_work = argv[i + 3];
      i += 3;
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
    } else if (strcmp(a, "--log-dir") == 0) {
      NEED(3);
      cfg.log_dir = argv[++i];
      cfg.log_max = strtoll(argv[++i], NULL, 10);
      cfg.log_files = atoi(argv[++i]);
      if (cfg.log_max <= 0 || cfg.log_files < 1) monitor_fail("--log-dir needs a positive size and file count");
    } else {
      monitor_fail("unknown option %s", a);
    }
  }
  if (i >= argc) monitor_fail("no program to run");
  if (!cfg.root) monitor_fail("--root is required");
  if (!cfg.caps_set) monitor_fail("--caps is required");
  cfg.argv = &argv[i];
}

