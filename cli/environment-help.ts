/**
 * What `galaxy --help` says after the commands: every environment variable the CLI and its
 * daemons read, and the exit codes scripts can rely on (docs/cli.md says the same at length).
 */
import { DEFAULT_BATCH } from './batch-common.js';
import { DEFAULT_APPMASTER } from './job.js';
import { DEFAULT_MAPREDUCE } from './mapreduce.js';

/** Every `GALAXY_*` variable (and `NO_COLOR`), with what it sets. */
export const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['GALAXY_MASTER', 'the master, host:port or zk://… (default 127.0.0.1:5050)'],
  ['GALAXY_APPMASTER', `the AppMaster API for galaxy job and galaxy logs (default ${DEFAULT_APPMASTER})`],
  ['GALAXY_BATCH', `the batch API for galaxy batch (default ${DEFAULT_BATCH})`],
  ['GALAXY_MAPREDUCE', `the MapReduce API for galaxy mr (default ${DEFAULT_MAPREDUCE})`],
  ['GALAXY_COORDINATOR', 'find leaders and naming through this coordinator (zk://… or local:/dir)'],
  ['GALAXY_TOKEN', 'the bearer token (after --token)'],
  ['GALAXY_TOKEN_FILE', 'a file holding the bearer token (after $GALAXY_TOKEN; then ./.galaxy/admin.token)'],
  ['GALAXY_CONTEXT', 'the config context to use (galaxy config get-contexts)'],
  ['GALAXY_TLS_CERT', 'PEM certificate this process presents (--tls-cert)'],
  ['GALAXY_TLS_KEY', 'PEM private key of the certificate (--tls-key)'],
  ['GALAXY_TLS_CA', "PEM CA that peers' certificates must be signed by (--tls-ca)"],
  ['GALAXY_LOG_LEVEL', 'log level of daemons (--log-level)'],
  ['GALAXY_LOG_FILE', "append daemons' JSON logs to this file instead of stdout"],
  ['GALAXY_TRACES', 'where galaxy sim finds cluster traces'],
  [
    'GALAXY_ELECTION',
    "set by galaxy master for its election helper process (internal: what it contends for); don't set it",
  ],
  ['GALAXY_<DAEMON>_<FLAG>', 'any flag of master, agent, appmaster, framework run, up (GALAXY_AGENT_WORK_DIR)'],
  ['NO_COLOR', 'no colour in tables'],
];

/** Exit codes of every `galaxy` command. */
export const EXIT_CODES: readonly (readonly [number, string])[] = [
  [0, 'done'],
  [
    1,
    'it ran, but what it ran or waited for did not succeed (--wait timed out, a failed batch job, job exec of a failing command), or an internal error',
  ],
  [2, 'refused: bad flags or input, denied, not found, … (the error names its GALAXY_E_* code and the fix)'],
  [3, 'a server could not be reached (GALAXY_E_UNAVAILABLE): nothing was done'],
];

/** The text after `galaxy --help`'s command list. */
export function environmentHelp(): string {
  const width = Math.max(...ENVIRONMENT.map(([name]) => name.length));
  const env = ENVIRONMENT.map(([name, what]) => `  ${name.padEnd(width)}  ${what}`);
  const codes = EXIT_CODES.map(([code, what]) => `  ${code}  ${what}`);
  return ['', 'Environment:', ...env, '', 'Exit codes:', ...codes].join('\n');
}
