/** The error an attempt that must be refused is refused with (a coded GalaxyError from the gRPC status). */
import type { GalaxyError } from '../../core/errors.js';

/** Resolves with the error `attempt` rejects with; rejects if it succeeds. */
export async function refusal(attempt: Promise<unknown>): Promise<GalaxyError> {
  return attempt.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as GalaxyError,
  );
}
