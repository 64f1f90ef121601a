/**
 * The agent: public API.
 */
export { Agent, startAgent, type AgentOptions } from './agent.js';
export {
  AGENT_PLUGIN_API_VERSION,
  callHook,
  createAgentHooks,
  type AgentHooks,
  type AgentHost,
  type AgentPlugin,
  type LaunchContext,
} from './hooks.js';
export { BUILTIN_AGENT_PLUGINS, loadAgentPlugins } from './plugins/index.js';
export { isolatorsPlugin } from './plugins/isolators.js';
export { discoverMachine, parseAttributes, type DiscoveryOptions, type MachineInfo } from './discovery.js';
export type { ExitInfo, LaunchedProcess, Launcher, LaunchSpec, RecoverSpec } from './launcher.js';
export { ProcessLauncher } from './process-launcher.js';
export { createSandbox, newRunId } from './sandbox.js';
export { TaskRunner, type RunnerDeps } from './task-runner.js';
export { DEFAULT_KILL_GRACE_S, MAX_KILL_GRACE_S, killGraceMs, validateRunTask } from './task-validation.js';
export { agentStatus, type AgentStatusFields } from './status.js';
export { taskTracePlugin } from './plugins/task-trace.js';
export { MasterLink, type MasterLinkHandlers } from './master-link.js';
