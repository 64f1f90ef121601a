/**
 * Loads plugins — allocators now, isolators and frameworks later — by built-in name or module
 * path, and checks their metadata before the host uses them, as fastify checks its plugins.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { GalaxyError } from './errors.js';

/** Metadata every plugin declares. */
export interface PluginMeta {
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
export function builtinMeta(name: string, apiVersion: string): PluginMeta {
  return { name, version: apiVersion, galaxyApi: `^${apiVersion.split('.')[0] ?? apiVersion}` };
}

function isMeta(value: unknown): value is PluginMeta {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && typeof v.version === 'string' && typeof v.galaxyApi === 'string';
}

/**
 * Finds a plugin of `kind` by built-in name, or imports the module at `spec` (absolute, or
 * relative to the working directory) and takes its default export or its `plugin` export.
 * Throws `GALAXY_E_PLUGIN_LOAD` or `GALAXY_E_PLUGIN_INCOMPATIBLE` naming the plugin and `spec`.
 *
 * @param kind - what is loaded (`allocator`, `isolator`, …), for messages.
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
  const looksLikePath = spec.includes('/') || spec.includes('\\') || /\.[cm]?[jt]s$/.test(spec);
  if (!looksLikePath) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `no built-in ${kind} named "${spec}" (built in: ${Object.keys(builtins).join(', ') || 'none'}); give a module path for your own`,
    );
  }
  const path = isAbsolute(spec) ? spec : resolve(process.cwd(), spec);
  if (!existsSync(path)) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `${kind} "${spec}": module ${path} does not exist (paths are relative to ${process.cwd()})`,
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `${kind} "${spec}": module ${path} failed to load: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const candidate = mod.default ?? mod.plugin;
  if (!isMeta(candidate)) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `${kind} "${spec}": module ${path} exports no plugin: a default (or \`plugin\`) export with name, version and galaxyApi is required`,
    );
  }
  if (semver.validRange(candidate.galaxyApi) === null) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_INCOMPATIBLE',
      `${kind} plugin "${candidate.name}" (${spec}) declares galaxyApi "${candidate.galaxyApi}", which is not a semver range; write one such as ^${apiVersion.split('.')[0] ?? apiVersion}`,
    );
  }
  if (!apiCompatible(candidate.galaxyApi, apiVersion)) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_INCOMPATIBLE',
      `${kind} plugin "${candidate.name}" (${spec}) supports ${kind} API ${candidate.galaxyApi}, but this Galaxy provides ${apiVersion}; use a build of the plugin for API ^${apiVersion.split('.')[0] ?? apiVersion}`,
    );
  }
  if (!isPlugin(candidate)) {
    throw new GalaxyError(
      'GALAXY_E_PLUGIN_LOAD',
      `${kind} plugin "${candidate.name}" (${spec}) does not have the shape of a ${kind} plugin (is ${shape} missing?)`,
    );
  }
  return candidate;
}
