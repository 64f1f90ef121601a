/**
 * The two tiny shell programs every container starts with.
 *
 * JOIN runs on the host: it writes its own pid into each `cgroup.procs` file it is given, then
 * execs the rest of its arguments — so the container's first process starts inside its cgroups,
 * with no window in which it runs unconstrained.
 *
 * INIT is pid 1 of the container's pid namespace. The kernel drops signals to a namespace's init
 * that it has no handler for, so INIT traps SIGTERM and passes it to everything in the namespace,
 * then exits with the task's own exit status (also written to `$GALAXY_EXIT_FILE`).
 */

/** `sh -c JOIN join <n> <procs file>… <command>…` */
export const JOIN =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 121; shift; n=$((n-1)); done; exec "$@"';

/** `sh -c INIT init <command>…` */
export const INIT = [
  "trap 'kill -TERM -1 2>/dev/null' TERM INT",
  '"$@" &',
  'child=$!',
  // The exit status also goes to a file, for an agent that re-attached after a restart.
  'while :; do wait "$child"; code=$?; if ! kill -0 "$child" 2>/dev/null; then echo "$code" > "$GALAXY_EXIT_FILE"; exit "$code"; fi; done',
].join('\n');
