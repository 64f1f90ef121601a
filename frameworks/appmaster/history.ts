/**
 * A job's revision history: each revision made (submit, update, rollback) with when, by whom and
 * what kind of change, the last `deploy.keepRevisions` of them kept with their specs, so that
 * `galaxy job history` lists them and `galaxy job rollback --to` can roll one out again. Pure.
 */
import type { RevisionEntry } from '../../proto/gen/galaxy/v1/appmaster.js';
import type { JobRecord, RevisionRecord } from './model.js';

/** Adds `entry` to the record's history, keeping the newest `keep`. */
export function addRevision(record: JobRecord, entry: RevisionRecord, keep: number): void {
  const history = [...(record.history ?? []), entry];
  record.history = history.slice(-Math.max(1, keep));
}

/** The revisions whose specs stay stored: the ones in the history. */
export function keptRevisions(record: JobRecord): number[] {
  return (record.history ?? []).map((h) => h.revision);
}

/** The history as `galaxy job history` shows it, newest first; a record from before histories shows its specs. */
export function historyOf(record: JobRecord): RevisionEntry[] {
  const history: RevisionRecord[] =
    record.history ??
    Object.keys(record.specs)
      .map(Number)
      .sort((a, b) => a - b)
      .map((revision) => ({ revision, at: 0, user: '', kind: '', fields: [] }));
  return history
    .map((h) => ({
      revision: h.revision,
      at: h.at,
      user: h.user,
      kind: h.kind,
      fields: h.fields,
      version: record.specs[h.revision]?.package.version ?? '',
      current: h.revision === record.revision,
      fromRevision: h.from ?? 0,
    }))
    .reverse();
}
