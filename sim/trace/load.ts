/**
 * Loads a trace file as a workload: google2011 `task_events*.csv.gz` (or `.csv`), or the Alibaba
 * GPU trace's pod list (`openb_pod_list*.csv`). `untilS` keeps the groups arriving within that
 * many trace seconds of the first; `limit` the first that many groups.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GalaxyError } from '../../core/errors.js';
import { alibabaWorkload } from './alibaba2023.js';
import { googleWorkload } from './google2011.js';
import type { Workload } from './workload.js';

/** The machines file beside each kind of trace. */
export const MACHINES_FILE = { google2011: 'machines.csv', alibaba2023: 'openb_node_list_all_node.csv' } as const;

/** Which trace a file is. */
export function traceKind(path: string): 'google2011' | 'alibaba2023' {
  const name = basename(path);
  if (/^task_events.*\.csv(\.gz)?$/.test(name)) return 'google2011';
  if (/^openb_pod_list.*\.csv$/.test(name)) return 'alibaba2023';
  throw new GalaxyError(
    'GALAXY_E_INVALID_ARGUMENT',
    `${name} is no trace the replayer knows: give google2011's task_events*.csv.gz or alibaba2023-gpu's openb_pod_list*.csv`,
  );
}

/** Reads and parses the trace at `path`. */
export function loadWorkload(path: string, select: { untilS?: number; limit?: number } = {}): Workload {
  const kind = traceKind(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `cannot read the trace ${path}: ${(error as Error).message}`);
  }
  const text = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  const workload =
    kind === 'google2011'
      ? googleWorkload(text, `google2011 ${basename(path)}`)
      : alibabaWorkload(text, `alibaba2023-gpu ${basename(path)}`);
  const first = workload.groups[0]?.submitS ?? 0;
  const groups = workload.groups
    .filter((g) => select.untilS === undefined || g.submitS - first <= select.untilS)
    .slice(0, select.limit ?? Infinity);
  return { ...workload, groups };
}
