/**
 * A launcher that starts nothing: each "process" runs until it is killed. It lets one bench process
 * host many real agents with hundreds of RUNNING tasks at no cost, while the agents still speak the
 * whole protocol (registration, re-registration with their tasks, status updates).
 */
import type { ExitInfo, LaunchedProcess, Launcher } from '../../agent/launcher.js';

/** Fake pids start above Linux's pid_max, so none can name a real process. */
let nextPid = 5_000_000;

/** A {@link Launcher} whose tasks only end when killed. */
export function idleLauncher(): Launcher {
  return {
    name: 'idle',
    launch: () => {
      let exit: (info: ExitInfo) => void = () => undefined;
      const exited = new Promise<ExitInfo>((resolve) => (exit = resolve));
      const launched: LaunchedProcess = {
        pid: nextPid++,
        exited,
        kill: () => {
          exit({ code: null, signal: 'SIGTERM' });
          return exited;
        },
      };
      return Promise.resolve(launched);
    },
  };
}
