/**
 * Master plugins. A plugin is metadata the plugin loader checks (name, version, the master plugin
 * API range it supports) and `apply(master)`, which taps the master's hooks — as a webpack plugin
 * taps its compiler's. Galaxy's own behaviour is written the same way: the event trace, the
 * authorization of launches, the machine registry, the reservation book, the preemptor, the
 * accounting ledger and the registry's persistence are plugins, applied from one list in
 * `master.ts`; an operator's plugins (`galaxy master --plugin <name|path>`) come after them.
 */
import type { Logger } from '../core/logger.js';
import { builtinMeta, type PluginMeta } from '../core/plugin-loader.js';
import type { MasterContext } from './context.js';
import type { MasterHooks } from './hooks.js';

/** What a master plugin sees of its host. */
export interface MasterHost {
  /** The master's extension points. */
  readonly hooks: MasterHooks;
  /** What the master knows (agents, frameworks, tasks, offers) and its small shared operations. */
  readonly ctx: MasterContext;
  readonly log: Logger;
}

/** A master plugin. */
export interface MasterPlugin extends PluginMeta {
  /** Its kind: what tells it from an agent plugin, whose shape (`apply`) is the same. */
  readonly kind: 'master';
  /** Taps the hooks of the master it is applied to; called once, before the master serves. */
  apply(master: MasterHost): void;
}

/** The master plugin API version this Galaxy implements. */
export const MASTER_PLUGIN_API_VERSION = '1.0.0';

/**
 * A master plugin built into Galaxy, as a class: its metadata (kind, the API version it ships
 * with) declared once here; a subclass names itself and taps the hooks in `apply`.
 */
export abstract class BuiltinMasterPlugin implements MasterPlugin {
  readonly kind = 'master';
  readonly version = MASTER_PLUGIN_API_VERSION;
  readonly galaxyApi = builtinMeta('master', '', MASTER_PLUGIN_API_VERSION).galaxyApi;
  abstract readonly name: string;
  abstract apply(master: MasterHost): void;
}

/** Metadata of a plugin built into the master: versioned with the API it implements. */
export function builtinMasterPlugin(name: string): PluginMeta & { readonly kind: 'master' } {
  return builtinMeta('master', name, MASTER_PLUGIN_API_VERSION);
}
