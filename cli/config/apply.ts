/**
 * Applies the CLI's current context (see `file.ts`) to this process's environment. Imported first
 * by `cli/main.ts`, before any command module reads its defaults from the environment: a context
 * is the lowest layer (flags, then the environment, then the context, then built-in defaults).
 * A broken config file is reported on stderr and otherwise ignored, so `galaxy config` can mend it.
 */
import { isGalaxyError } from '../../core/errors.js';
import { configPath, contextEnvironment, readConfig, selectContext } from './file.js';

try {
  const config = readConfig(configPath());
  const name = selectContext(config, process.argv.slice(2), process.env);
  if (name !== undefined) Object.assign(process.env, contextEnvironment(config.contexts[name] ?? {}, process.env));
} catch (error) {
  if (!isGalaxyError(error)) throw error;
  console.error(`warning: ${error.message}`);
}
