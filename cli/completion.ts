/**
 * `galaxy completion bash|zsh|fish|powershell`: prints a shell completion script for every command
 * and flag of the CLI (source it from `~/.bashrc`, `~/.zshrc`, …). The script asks the CLI itself
 * (a hidden `galaxy complete -- <words>`), so completions always match the installed version.
 * Built on `@bomb.sh/tab`, which reads commander's command tree.
 */
import tab from '@bomb.sh/tab/commander';
import type { Command } from 'commander';

/** Adds `completion` (and the hidden `complete` it calls) to `program`; call after every other command. */
export function addCompletionCommand(program: Command): void {
  tab(program, { completionCommandName: 'completion' });
}
