/**
 * The agent: public API.
 */
export { Agent, startAgent, type AgentOptions } from './agent.js';
export { createAgentHooks, type AgentHooks, type AgentPlugin, type LaunchContext } from './hooks.js';
export { discoverMachine, parseAttributes, type MachineInfo } from './discovery.js';
export type { ExitInfo, LaunchedProcess, Launcher, LaunchSpec } from './launcher.js';
export { ProcessLauncher } from './process-launcher.js';
