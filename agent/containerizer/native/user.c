/*
 * The task's user and capabilities: the root of its own user namespace (mapped by the monitor),
 * a named host user, or real root; the bounding set cut to the agent's mask; no_new_privs.
 */
#include "galaxy-init.h"

int cap_last(void) {
  int last = CAP_LAST_CAP;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (f) {
    if (fscanf(f, "%d", &last) != 1) last = CAP_LAST_CAP;
    fclose(f);
  }
  return last;
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
void become_user(int last) {
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


/*
 * An image's files belong to the host's root (the agent unpacked them); the container's root is
 * host uid BASE. The init sees the image's lower layer through an idmapped mount whose mapping is
 * the container's: this user namespace, made by a child that only holds it while we write its
 * maps (as root on the host) and open it. The child ends at once; the descriptor keeps it.
 */
void make_idmap_userns(void) {
  int hold[2];
  if (pipe2(hold, O_CLOEXEC) < 0) monitor_fail("pipe: %s", strerror(errno));
  pid_t child = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (child < 0) monitor_fail("cannot create the image's user namespace: %s", strerror(errno));
  if (child == 0) {
    char c;
    close(hold[1]);
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(hold[0]);
  write_map(child, "uid_map", cfg.userns_base);
  write_map(child, "gid_map", cfg.userns_base);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)child);
  cfg.idmap_fd = open(path, O_RDONLY | O_CLOEXEC);
  int saved = errno;
  close(hold[1]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
  }
  if (cfg.idmap_fd < 0) monitor_fail("cannot open the image's user namespace: %s", strerror(saved));
}
