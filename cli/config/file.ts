/**
 * The CLI's config file, `~/.config/galaxy/config.yaml` (or `$GALAXY_CONFIG`): named **contexts**,
 * each the addresses and credentials of one cluster, and the one in use. A context holds paths to
 * token and TLS files, never a secret itself, and the file is written 0600.
 *
 * ```yaml
 * current-context: prod
 * contexts:
 *   prod:
 *     master: zk://10.0.0.1:2181,10.0.0.2:2181/galaxy?secret=/etc/galaxy/cluster.secret
 *     appmaster: 10.0.0.5:5060
 *     coordinator: zk://10.0.0.1:2181/galaxy?secret=/etc/galaxy/cluster.secret
 *     token-file: ~/.galaxy/prod.token
 *     tls-ca: ~/.galaxy/prod-ca.pem
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { GalaxyError } from '../../core/errors.js';
import { writeAtomic } from '../../core/files.js';

/** What a context may name, and the environment variable each one stands in for. */
export const CONTEXT_FIELDS = {
  master: 'GALAXY_MASTER',
  appmaster: 'GALAXY_APPMASTER',
  batch: 'GALAXY_BATCH',
  mapreduce: 'GALAXY_MAPREDUCE',
  coordinator: 'GALAXY_COORDINATOR',
  'token-file': 'GALAXY_TOKEN_FILE',
  'tls-cert': 'GALAXY_TLS_CERT',
  'tls-key': 'GALAXY_TLS_KEY',
  'tls-ca': 'GALAXY_TLS_CA',
} as const;

/** One of {@link CONTEXT_FIELDS}. */
export type ContextField = keyof typeof CONTEXT_FIELDS;

const CONTEXT_NAME = /^[A-Za-z0-9_.-]{1,63}$/;
const value = z.string().min(1).max(4096);
const context = z.strictObject(
  Object.fromEntries(Object.keys(CONTEXT_FIELDS).map((k) => [k, value.optional()])) as Record<
    ContextField,
    z.ZodOptional<typeof value>
  >,
);

const schema = z.strictObject({
  'current-context': z.string().regex(CONTEXT_NAME).optional(),
  contexts: z.record(z.string().regex(CONTEXT_NAME), context).default({}),
});

/** One context: some of {@link CONTEXT_FIELDS}. */
export type Context = Partial<Record<ContextField, string>>;

/** The config file's content. */
export interface CliConfig {
  'current-context'?: string;
  contexts: Record<string, Context>;
}

/** Where the config file is: `$GALAXY_CONFIG`, else `$XDG_CONFIG_HOME/galaxy/config.yaml`, else `~/.config/galaxy/config.yaml`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GALAXY_CONFIG) return env.GALAXY_CONFIG;
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'galaxy', 'config.yaml');
}

/** Throws GALAXY_E_INVALID_ARGUMENT unless `name` can name a context. */
export function checkContextName(name: string): void {
  if (!CONTEXT_NAME.test(name))
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `"${name.slice(0, 80)}" is not a context name (letters, digits, _ . -, at most 63)`,
    );
}

/** The config at `path` (empty when there is none); a malformed file is an error naming it. */
export function readConfig(path: string): CliConfig {
  if (!existsSync(path)) return { contexts: {} };
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8')) ?? {};
  } catch (error) {
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${path} is not YAML: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `${path}: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'} (fields: ${Object.keys(CONTEXT_FIELDS).join(', ')})`,
    );
  }
  return parsed.data;
}

/** Writes the config (0600, its directory 0700). */
export async function writeConfig(path: string, config: CliConfig): Promise<void> {
  await writeAtomic(path, stringify(config), { ownerOnly: true });
}

/** `~/x` → the home directory's `x` (paths in contexts are written the way people type them). */
export function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/**
 * The environment a context gives: each field as its variable, for those the environment does not
 * set already (a flag beats the environment, the environment beats the context, the context beats
 * the built-in default).
 */
export function contextEnvironment(ctx: Context, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, variable] of Object.entries(CONTEXT_FIELDS) as [ContextField, string][]) {
    const given = ctx[field];
    if (given === undefined || env[variable] !== undefined) continue;
    out[variable] = field === 'token-file' || field.startsWith('tls-') ? expandHome(given) : given;
  }
  return out;
}

/**
 * The context the CLI runs in: `--context <name>` on the command line, else `$GALAXY_CONTEXT`,
 * else the file's current one; undefined when there is none. Naming one that does not exist is an error.
 */
export function selectContext(config: CliConfig, argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  let named: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    if (arg === '--context') named = argv[i + 1];
    else if (arg.startsWith('--context=')) named = arg.slice('--context='.length);
  }
  const name = named ?? env.GALAXY_CONTEXT ?? config['current-context'];
  if (name !== undefined && config.contexts[name] === undefined && (named ?? env.GALAXY_CONTEXT) !== undefined)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `no context "${name.slice(0, 80)}" in the config; galaxy config get-contexts lists them`,
    );
  return name !== undefined && config.contexts[name] !== undefined ? name : undefined;
}
