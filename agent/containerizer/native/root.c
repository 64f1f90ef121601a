/*
 * The container's root filesystem: the agent's mount plan (agent/containerizer/root-plan.ts)
 * carried out in the container's mount namespace, then pivot_root into it.
 */
#include "galaxy-init.h"

/* The host's root, for opening bind sources before the pivot. */
static int host_root = -1;

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

/*
 * The image's root: its unpacked tree as the lower layer (seen through an idmapped mount when the
 * container has a user namespace: the mapping is the container's, so what the host's root owns in
 * the image the container's root owns), under the container's own upper layer. The idmapped copy
 * is attached over the lower directory in this mount namespace only; the host sees neither.
 */
static void mount_image_root(void) {
  if (cfg.idmap_fd >= 0) {
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, cfg.image_lower, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) init_fail("cannot open the image %s: %s", cfg.image_lower, strerror(errno));
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                              .userns_fd = (uint64_t)cfg.idmap_fd};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
      init_fail("cannot map the image's owners to the container's: %s", strerror(errno));
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, cfg.image_lower, MOVE_MOUNT_F_EMPTY_PATH) < 0)
      init_fail("cannot attach the image's mapped tree: %s", strerror(errno));
    close(tree);
    close(cfg.idmap_fd);
    cfg.idmap_fd = -1;
  }
  char data[3 * 4096 + 64];
  int n = snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s", cfg.image_lower, cfg.image_upper,
                   cfg.image_work);
  if (n < 0 || (size_t)n >= sizeof data) init_fail("the image's paths are too long");
  if (mount("overlay", cfg.root, "overlay", MS_NOSUID | MS_NODEV, data) < 0)
    init_fail("cannot mount the image's overlay on %s: %s", cfg.root, strerror(errno));
}

/* Builds the new root on cfg.root from the plan and pivots into it; the host's root is detached. */
void build_root(void) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    init_fail("cannot make the mount namespace private: %s", strerror(errno));
  if (cfg.image_lower) mount_image_root();
  else if (mount("tmpfs", cfg.root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
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

