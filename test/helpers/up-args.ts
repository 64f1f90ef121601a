/**
 * The arguments of a test's `galaxy up`: every server on a port of the kernel's choosing, so that
 * tests running at once never collide, and the one ready line's addresses read back.
 */

/** `up` with every listener on `127.0.0.1:0`, its state in `workDir`, `replicas` of the example, then `more`. */
export function upArgs(workDir: string, replicas: number, more: readonly string[] = []): string[] {
  const listeners = ['--listen', '--appmaster-listen', '--http-listen', '--batch-listen', '--mapreduce-listen'];
  return [
    'up',
    ...listeners.flatMap((flag) => [flag, '127.0.0.1:0']),
    '--work-dir',
    workDir,
    '--replicas',
    `${replicas}`,
    ...more,
  ];
}

/** The master's and the AppMaster's addresses named by `galaxy up`'s ready line. */
export function readyAddresses(ready: string): { master: string; appmaster: string } {
  return { master: /master (\S+),/.exec(ready)?.[1] ?? '', appmaster: /AppMaster (\S+),/.exec(ready)?.[1] ?? '' };
}
