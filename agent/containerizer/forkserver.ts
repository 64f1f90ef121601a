/**
 * The fork server: a small long-lived helper process that starts the containers' first processes
 * for the agent. Node's `child_process.spawn` blocks the agent's event loop until the child has
 * exec'd — on a busy machine that is tens of milliseconds per task, and every launch waits behind
 * the previous one. The fork server forks from a process of a few megabytes and answers
 * asynchronously, so launches overlap and the agent's loop keeps serving status updates.
 *
 * It is a Perl program because Perl (`perl-base`) is on every Debian-family machine and starts
 * in milliseconds. The child it forks does what `spawnLeader` asked of `spawn`: a new session,
 * stdin from /dev/null, stdout/stderr appended to the task's files, the sandbox as cwd, exactly
 * the given environment — and, before it execs, writes its own pid into the container's
 * `cgroup.procs` files, so the task never runs outside its cgroups.
 *
 * Protocol (lines; every field `x` + hex so none is empty or holds a space or newline):
 *   agent → server: `id cwd stdout stderr nprocs procs… nenv K=V… file args…`
 *   server → agent: `S id pid` (started), `F id message` (could not fork), `E id code signal` (exited).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { GalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ExitInfo } from '../launcher.js';

/** The server. Exit codes of a child that failed before its exec: 121 cgroups, 122 files, 127 exec. */
const SERVER = String.raw`
use strict; use warnings; use POSIX ();
$| = 1; $SIG{CHLD} = sub {}; $SIG{PIPE} = 'IGNORE';
my %ids; my $buf = '';
sub reap { while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) { my $id = delete $ids{$pid}; next unless defined $id; my $st = $?; my $sig = $st & 127; my $code = $sig ? -1 : ($st >> 8); print "E $id $code $sig\n"; } }
sub start {
  my @f = map { pack('H*', substr($_, 1)) } split / /, $_[0];
  my $id = shift @f; my $cwd = shift @f; my $out = shift @f; my $err = shift @f;
  my @procs = splice(@f, 0, shift @f); my @env = splice(@f, 0, shift @f);
  my $pid = fork();
  if (!defined $pid) { print "F $id fork: $!\n"; return; }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT'; $SIG{PIPE} = 'DEFAULT';
    POSIX::setsid();
    open(STDIN, '<', '/dev/null') or POSIX::_exit(122);
    open(STDOUT, '>>', $out) or POSIX::_exit(122);
    open(STDERR, '>>', $err) or POSIX::_exit(122);
    chdir($cwd) or do { print STDERR "cannot enter $cwd: $!\n"; POSIX::_exit(122) };
    for my $p (@procs) { my $fh; if (!open($fh, '>', $p) || !print($fh "$$\n") || !close($fh)) { print STDERR "cannot join $p: $!\n"; POSIX::_exit(121) } }
    %ENV = (); for (@env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v; }
    exec { $f[0] } @f; print STDERR "cannot start $f[0]: $!\n"; POSIX::_exit(127);
  }
  $ids{$pid} = $id; print "S $id $pid\n";
}
while (1) {
  my $rin = ''; vec($rin, fileno(STDIN), 1) = 1;
  my $n = select(my $rout = $rin, undef, undef, 1);
  reap();
  next if $n <= 0;
  my $got = sysread(STDIN, $buf, 65536, length $buf);
  if (!defined $got) { next; }
  exit 0 if $got == 0;
  while ((my $i = index($buf, "\n")) >= 0) { my $line = substr($buf, 0, $i); substr($buf, 0, $i + 1) = ''; start($line); }
}
`;

/** What one start asks for. */
export interface ForkRequest {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** `cgroup.procs` files the child joins before it execs. */
  readonly procsFiles: readonly string[];
}

/** A started child: its pid and its end. */
export interface ForkedChild {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
}

interface Pending {
  started?: { resolve: (pid: number) => void; reject: (error: Error) => void };
  exited: (exit: ExitInfo) => void;
  pid?: number;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

const field = (value: string): string => `x${Buffer.from(value, 'utf8').toString('hex')}`;

/** One fork server per launcher, started on first use and restarted if it dies. */
export class ForkServer {
  private server: ChildProcessWithoutNullStreams | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly log: Logger) {}

  /** Starts `file args` as described; resolves with its pid once it is forked. */
  async start(request: ForkRequest): Promise<ForkedChild> {
    if (this.closed) throw new GalaxyError('GALAXY_E_LAUNCH_FAILED', 'the fork server is closed');
    const server = this.ensure();
    const id = String(++this.nextId);
    const envList = Object.entries(request.env).map(([k, v]) => `${k}=${v}`);
    const line = [
      id,
      request.cwd,
      request.stdoutPath,
      request.stderrPath,
      String(request.procsFiles.length),
      ...request.procsFiles,
      String(envList.length),
      ...envList,
      request.file,
      ...request.args,
    ]
      .map(field)
      .join(' ');
    let resolveExit: (exit: ExitInfo) => void = () => undefined;
    const exited = new Promise<ExitInfo>((resolve) => {
      resolveExit = resolve;
    });
    const pid = await new Promise<number>((resolve, reject) => {
      this.pending.set(id, { started: { resolve, reject }, exited: resolveExit });
      server.stdin.write(`${line}\n`);
    });
    return { pid, exited };
  }

  /** Stops the server; children already started keep running. */
  close(): void {
    this.closed = true;
    this.server?.stdin.end();
    this.server = undefined;
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.server) return this.server;
    const server = spawn('perl', ['-e', SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.server = server;
    // The agent may exit without closing it: then stdin ends and the server exits on its own.
    server.unref();
    for (const stream of [server.stdin, server.stdout, server.stderr])
      (stream as unknown as { unref?: () => void }).unref?.();
    server.stderr.on('data', (chunk: Buffer) => {
      this.log.warn({ forkServer: chunk.toString('utf8').trim().slice(0, 500) }, 'fork server said');
    });
    server.stdin.on('error', () => undefined);
    createInterface({ input: server.stdout }).on('line', (line) => {
      this.answer(line);
    });
    server.once('error', (error) => {
      this.lost(server, error.message);
    });
    server.once('exit', (code, signal) => {
      this.lost(server, `exited (${signal ?? code ?? '?'})`);
    });
    return server;
  }

  private answer(line: string): void {
    const [kind, id = '', ...rest] = line.split(' ');
    const entry = this.pending.get(id);
    if (!entry) return;
    if (kind === 'S') {
      entry.pid = Number(rest[0]);
      entry.started?.resolve(entry.pid);
      entry.started = undefined;
    } else if (kind === 'F') {
      this.pending.delete(id);
      entry.started?.reject(new GalaxyError('GALAXY_E_LAUNCH_FAILED', `cannot start the task: ${rest.join(' ')}`));
    } else if (kind === 'E') {
      this.pending.delete(id);
      const code = Number(rest[0]);
      const signal = Number(rest[1]);
      entry.exited(signal > 0 ? { code: null, signal: SIGNAL_NAMES.get(signal) ?? 'SIGKILL' } : { code, signal: null });
    }
  }

  /**
   * The server died: unstarted requests fail; started children (now orphans of init) are
   * watched through /proc until they are gone, their exit status unknown.
   */
  private lost(server: ChildProcessWithoutNullStreams, why: string): void {
    if (this.server === server) this.server = undefined;
    if (!this.closed) this.log.warn({ why }, 'the fork server is gone; it restarts on the next launch');
    for (const [id, entry] of this.pending) {
      if (entry.started) {
        this.pending.delete(id);
        entry.started.reject(new GalaxyError('GALAXY_E_LAUNCH_FAILED', `the fork server ${why}`));
        continue;
      }
      const pid = entry.pid;
      if (pid === undefined) continue;
      this.pending.delete(id);
      const timer = setInterval(() => {
        try {
          process.kill(pid, 0);
        } catch {
          clearInterval(timer);
          entry.exited({ code: null, signal: null });
        }
      }, 200);
    }
  }
}
