/**
 * Loads plugins — isolators, allocators, master, agent, AppMaster and framework plugins — by
 * built-in name or module path, and checks their metadata before the host uses them, as fastify
 * checks its plugins. Every plugin declares its `kind`: the shapes of two kinds can be alike (a
 * master plugin and an agent plugin are both `apply(host)`), so a plugin given to the wrong host is
 * refused by its kind instead of tapping hooks it was not written for.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { GalaxyError } from './errors.js';

/** The plugin kinds of Galaxy's hosts. */
export type PluginKind = 'isolator' | 'allocator' | 'master' | 'agent' | 'appmaster' | 'framework';

/** Metadata every plugin declares. */
export interface PluginMeta {
  /** Which host's plugin it is ({@link PluginKind} for Galaxy's own hosts). */
  readonly kind: string;
  readonly name: string;
  readonly version: string;
  /** The semver range of the host's plugin API it supports: `^1`, `^1.2`, `1.x`, `*`, … */
  readonly galaxyApi: string;
}

/**
 * True when the plugin API `range` (a semver range: `^1`, `^1.2`, `~1.2`, `1.x`, `>=1.1 <2`, `*`)
 * admits the host's API `version`. A range that is not a semver range admits nothing.
 */
export function apiCompatible(range: string, version: string): boolean {
  return semver.validRange(range) !== null && semver.satisfies(version, range);
}

/**
 * The metadata of a plugin built into Galaxy: its version is the host API version it ships with,
 * and it supports that API's major (`^1`).
 */
export function builtinMeta<K extends string>(
  kind: K,
  name: string,
  apiVersion: string,
): PluginMeta & { readonly kind: K } {
  return { kind, name, version: apiVersion, galaxyApi: `^${apiVersion.split('.')[0] ?? apiVersion}` };
}

/** How each kind is named in messages, and where an operator loads it. */
const KINDS: Readonly<Record<PluginKind, { readonly noun: string; readonly where: string }>> = {
  isolator: { noun: 'isolator', where: '`galaxy agent --isolation`' },
  allocator: { noun: 'allocator', where: '`galaxy master --allocator`' },
  master: { noun: 'master plugin', where: '`galaxy master --plugin`' },
  agent: { noun: 'agent plugin', where: '`galaxy agent --plugin`' },
  appmaster: { noun: 'AppMaster plugin', where: '`galaxy framework run appmaster --option plugins=`' },
  framework: { noun: 'framework', where: '`galaxy framework run`' },
};

/** The kind as messages name it: `master plugin`, `isolator`, … (an unknown kind by its name). */
export function kindNoun(kind: string): string {
  return Object.hasOwn(KINDS, kind) ? KINDS[kind as PluginKind].noun : kind;
}

/** `a master plugin`, `an isolator`. */
function withArticle(noun: string): string {
  return `${/^[aeiouAEIOU]/.test(noun) ? 'an' : 'a'} ${noun}`;
}

function isMeta(value: unknown): value is Omit<PluginMeta, 'kind'> & { readonly kind?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && typeof v.version === 'string' && typeof v.galaxyApi === 'string';
}

/** Refuses a plugin that declares no kind, or another kind than the host loading it. */
function checkKind(kind: string, spec: string, declared: unknown, name: string): void {
  const noun = kindNoun(kind);
  if (declared === undefined)
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_KIND',
      `${noun} "${name}" (${spec}) declares no kind: add \`kind: '${kind}'\` to its metadata`,
    );
  if (declared === kind) return;
  const other =
    typeof declared === 'string' && Object.hasOwn(KINDS, declared) ? KINDS[declared as PluginKind] : undefined;
  throw new GalaxyError(
    'GALAXY_E_PLUGIN_KIND',
    other
      ? `"${name}" (${spec}) is ${withArticle(other.noun)}, not ${withArticle(noun)}: load it with ${other.where}`
      : `"${name}" (${spec}) declares kind ${JSON.stringify(declared)}, not '${kind}': it is not ${withArticle(noun)}`,
  );
}

/**
 * Finds a plugin of `kind` by built-in name, or imports the module at `spec` (absolute, or
 * relative to the working directory) and takes its default export or its `plugin` export.
 * Throws `GALAXY_E_PLUGIN_LOAD`, `GALAXY_E_PLUGIN_KIND` or `GALAXY_E_PLUGIN_INCOMPATIBLE` naming the
 * plugin and `spec`.
 *
 * @param kind - the kind loaded (`allocator`, `master`, …): the plugin must declare it.
 * @param spec - a key of `builtins`, or a module path.
 * @param builtins - the plugins compiled into Galaxy, by name.
 * @param apiVersion - the host's API version for this kind; the plugin's `galaxyApi` range must admit it.
 * @param isPlugin - checks the kind-specific shape (e.g. a `create` factory) once the metadata is valid.
 * @param shape - what `isPlugin` looks for, for the message when it is missing.
 */
export async function loadPlugin<T extends PluginMeta>(
  kind: string,
  spec: string,
  builtins: Readonly<Record<string, T>>,
  apiVersion: string,
  isPlugin: (value: PluginMeta) => value is T,
  shape = 'its factory `create`',
): Promise<T> {
  const builtin = Object.hasOwn(builtins, spec) ? builtins[spec] : undefined;
  if (builtin) return builtin;
  const noun = kindNoun(kind);
  const looksLikePath = spec.includes('/') || spec.includes('\\') || /\.[cm]?[jt]s$/.test(spec);
  if (!looksLikePath) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `no built-in ${noun} named "${spec}" (built in: ${Object.keys(builtins).join(', ') || 'none'}); give a module path for your own`,
    );
  }
  const path = isAbsolute(spec) ? spec : resolve(process.cwd(), spec);
  if (!existsSync(path)) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `${noun} "${spec}": module ${path} does not exist (paths are relative to ${process.cwd()})`,
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `${noun} "${spec}": module ${path} failed to load: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const exported = mod.default ?? mod.plugin;
  if (!isMeta(exported)) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `${noun} "${spec}": module ${path} exports no plugin: a default (or \`plugin\`) export with kind, name, version and galaxyApi is required`,
    );
  }
  checkKind(kind, spec, exported.kind, exported.name);
  const candidate = exported as PluginMeta;
  if (semver.validRange(candidate.galaxyApi) === null) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_INCOMPATIBLE',
      `${noun} "${candidate.name}" (${spec}) declares galaxyApi "${candidate.galaxyApi}", which is not a semver range; write one such as ^${apiVersion.split('.')[0] ?? apiVersion}`,
    );
  }
  if (!apiCompatible(candidate.galaxyApi, apiVersion)) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_INCOMPATIBLE',
      `${noun} "${candidate.name}" (${spec}) supports ${noun} API ${candidate.galaxyApi}, but this Galaxy provides ${apiVersion}; use a build of the plugin for API ^${apiVersion.split('.')[0] ?? apiVersion}`,
    );
  }
  if (!isPlugin(candidate)) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `${noun} "${candidate.name}" (${spec}) does not have the shape of ${withArticle(noun)} (is ${shape} missing?)`,
    );
  }
  return candidate;
}

/** The entries of a comma-separated plugin list (`cpu, memory,,./mine.js`), trimmed, empty ones dropped. */
export function pluginSpecs(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Loads the plugins of a list (`--plugin a --plugin b`, `--isolation cpu,memory`) in its order,
 * each by `load`; a list naming one twice is refused first (`GALAXY_E_INVALID_ARGUMENT`, naming
 * `flag`), before any module is imported.
 */
export async function loadPluginList<T>(
  flag: string,
  specs: readonly string[],
  load: (spec: string) => Promise<T>,
): Promise<T[]> {
  if (new Set(specs).size !== specs.length)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${flag} names a plugin twice: ${specs.join(', ')}`);
  const plugins: T[] = [];
  for (const spec of specs) plugins.push(await load(spec));
  return plugins;
}
