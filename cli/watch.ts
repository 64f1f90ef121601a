/**
 * The client side of watch RPCs (`galaxy tasks --watch`, `galaxy job show --watch`) and of
 * `galaxy logs -f`: each message as it is pushed, until the server ends the stream, an error, or
 * Ctrl-C (which ends it quietly).
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import { fromGrpcError } from '../core/grpc-errors.js';
import type { OutputFormat } from './output.js';

/** Calls `each` with every message of `call`; resolves when it ends (or on Ctrl-C). */
export async function consumeStream<T>(
  call: ClientReadableStream<T>,
  target: string,
  each: (message: T) => void,
): Promise<void> {
  const stop = (): void => {
    call.cancel();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await new Promise<void>((resolve, reject) => {
      call.on('data', each);
      call.on('end', resolve);
      call.on('error', (error: Error & { code?: number }) => {
        if (error.code === 1)
          resolve(); // CANCELLED: our own Ctrl-C
        else reject(fromGrpcError(error, target));
      });
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/**
 * How a watch prints one snapshot: a table under a `# <time>` line for people; for scripts one
 * JSON document per line (NDJSON), or YAML documents separated by `---`.
 */
export function watchFrame(rendered: string, format: OutputFormat, now = new Date()): string {
  if (format === 'json') return JSON.stringify(JSON.parse(rendered));
  if (format === 'yaml') return `---\n${rendered}`;
  return `# ${now.toISOString()}\n${rendered}\n`;
}
