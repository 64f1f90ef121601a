/**
 * `galaxy job validate <files…>` (and `galaxy batch validate`): checks specs offline, with the same
 * parser the framework uses, and reports each file's problems by path and line.
 */
import { open } from 'node:fs/promises';
import { isGalaxyError } from '../core/errors.js';
import { MAX_SPEC_BYTES, parseJobSpec } from '../frameworks/appmaster/spec/parse.js';

/** The outcome of validating files: `ok` only when every file is a valid spec. */
export interface ValidationReport {
  ok: boolean;
  /** One `ok …` line per valid file; one or more `path:line:col: …` lines per invalid one. */
  lines: string[];
}

/**
 * Reads at most `limit + 1` bytes, so that a huge file or a device such as `/dev/zero` cannot
 * exhaust memory or hang; parseJobSpec then refuses anything over the limit.
 */
async function readBounded(path: string, limit: number): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await file.close();
  }
}

/** The `ok` line of a valid job spec; throws GALAXY_E_SPEC_INVALID for an invalid one. */
export function checkJobSpec(text: string, path: string): string {
  const spec = parseJobSpec(text, path);
  return `ok ${path}: job ${spec.name}, ${spec.replicas} replicas, version ${spec.package.version}`;
}

/**
 * Validates each file with `check` (which returns the file's `ok` line or throws
 * GALAXY_E_SPEC_INVALID); an unreadable file is reported as a line, never thrown.
 */
export async function validateSpecFiles(
  paths: readonly string[],
  check: (text: string, path: string) => string = checkJobSpec,
): Promise<ValidationReport> {
  const lines: string[] = [];
  let ok = true;
  for (const path of paths) {
    let text: string;
    try {
      text = await readBounded(path, MAX_SPEC_BYTES);
    } catch (error) {
      ok = false;
      const reason = error instanceof Error ? error.message : String(error);
      lines.push(`${path}: cannot read the file: ${reason}`);
      continue;
    }
    try {
      lines.push(check(text, path));
    } catch (error) {
      if (!isGalaxyError(error, 'GALAXY_E_SPEC_INVALID')) throw error;
      ok = false;
      lines.push(...error.detail.split('\n'));
    }
  }
  return { ok, lines };
}
