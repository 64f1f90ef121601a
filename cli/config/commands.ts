/**
 * `galaxy config`: the CLI's contexts (see `file.ts`) — `set-context`, `use-context`,
 * `get-contexts`, `current-context`, `delete-context`.
 */
import type { Command } from 'commander';
import { GalaxyError } from '../../core/errors.js';
import { render, type Column, type OutputFormat } from '../output.js';
import {
  checkContextName,
  configPath,
  CONTEXT_FIELDS,
  readConfig,
  writeConfig,
  type Context,
  type ContextField,
} from './file.js';

interface Row {
  current: boolean;
  name: string;
  context: Context;
}

const COLUMNS: Column<Row>[] = [
  { heading: 'CURRENT', value: (r) => (r.current ? '*' : '') },
  { heading: 'NAME', value: (r) => r.name },
  { heading: 'MASTER', value: (r) => r.context.master ?? '' },
  { heading: 'APPMASTER', value: (r) => r.context.appmaster ?? '' },
  { heading: 'TOKEN FILE', value: (r) => r.context['token-file'] ?? '' },
];

/** commander's camelCase option name of a field (`token-file` → `tokenFile`). */
const optionKey = (field: string): string => field.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** Adds `galaxy config …`. */
export function addConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description(`the CLI's contexts: a cluster's addresses and credential files each (${configPath()})`);

  const set = config
    .command('set-context <name>')
    .description('create or change a context (fields given replace those stored; --unset removes them)')
    .option('--unset <field...>', `fields to remove: ${Object.keys(CONTEXT_FIELDS).join(', ')}`);
  for (const [field, variable] of Object.entries(CONTEXT_FIELDS))
    set.option(`--${field} <value>`, `stands in for $${variable}`);
  set.action(async (name: string, flags: Record<string, string | string[] | undefined>) => {
    checkContextName(name);
    const path = configPath();
    const file = readConfig(path);
    const unset = new Set((flags.unset as string[] | undefined) ?? []);
    for (const field of unset)
      if (!(field in CONTEXT_FIELDS))
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--unset ${field.slice(0, 40)}: not a context field`);
    const before = file.contexts[name] ?? {};
    const context: Context = {};
    for (const field of Object.keys(CONTEXT_FIELDS) as ContextField[]) {
      const given = flags[optionKey(field)];
      const kept = typeof given === 'string' ? given : unset.has(field) ? undefined : before[field];
      if (kept !== undefined) context[field] = kept;
    }
    file.contexts = { ...file.contexts, [name]: context };
    file['current-context'] ??= name;
    await writeConfig(path, file);
    console.error(`context ${name} saved in ${path}`);
  });

  config
    .command('use-context <name>')
    .description('make a context the current one')
    .action(async (name: string) => {
      const path = configPath();
      const file = readConfig(path);
      if (!file.contexts[name])
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `no context "${name.slice(0, 80)}" in ${path}`);
      file['current-context'] = name;
      await writeConfig(path, file);
      console.error(`switched to context ${name}`);
    });

  config
    .command('get-contexts')
    .description('list the contexts; * marks the current one')
    .option('-o, --output <format>', 'table or json', 'table')
    .action((flags: { output: OutputFormat }) => {
      const file = readConfig(configPath());
      const rows = Object.entries(file.contexts).map(([name, context]) => ({
        current: name === file['current-context'],
        name,
        context,
      }));
      console.log(render(rows, COLUMNS, flags.output));
    });

  config
    .command('current-context')
    .description('the name of the current context')
    .action(() => {
      const current = readConfig(configPath())['current-context'];
      if (current === undefined) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'no current context is set');
      console.log(current);
    });

  config
    .command('delete-context <name>')
    .description('remove a context')
    .action(async (name: string) => {
      const path = configPath();
      const file = readConfig(path);
      if (!file.contexts[name])
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `no context "${name.slice(0, 80)}" in ${path}`);
      file.contexts = Object.fromEntries(Object.entries(file.contexts).filter(([n]) => n !== name));
      if (file['current-context'] === name) file['current-context'] = undefined;
      await writeConfig(path, file);
      console.error(`context ${name} deleted`);
    });
}
