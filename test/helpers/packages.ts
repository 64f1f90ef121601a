/**
 * Packages for tests of the AppMaster: a pod reads a `file://` package inside its own container
 * (docs/security.md, Part 2), so the directory holding them is bound into each pod read-only,
 * at its host path, and the agents allow it (`--allowed-host-paths`).
 */

/** A job spec volume showing `dir` read-only in each pod, at the same path as on the host. */
export function packagesVolume(dir: string): { kind: 'bind'; path: string; hostPath: string; readOnly: true } {
  return { kind: 'bind', path: dir, hostPath: dir, readOnly: true };
}
