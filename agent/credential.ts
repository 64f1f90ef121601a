/**
 * The agent's own credential (docs/security.md, "Agents have their own identities"): given by
 * the master in exchange for a join token at the first registration, or issued by an admin
 * (`galaxy agent credential <id>`) and placed here by an operator. It lives in
 * `<work-dir>/meta/credential`, mode 0600 in a 0700 directory, and is what the agent registers
 * with from then on.
 */
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../core/files.js';

/** Where the credential lives, relative to the agent's work directory. */
export const CREDENTIAL_FILE = join('meta', 'credential');

/** Makes `<work-dir>/meta` (0700) and tightens it and the credential if they were made looser. */
async function secureMeta(workDir: string): Promise<void> {
  const meta = join(workDir, 'meta');
  await mkdir(meta, { recursive: true, mode: 0o700 });
  await chmod(meta, 0o700);
}

/**
 * The stored credential, or undefined when there is none. A credential an operator wrote with a
 * looser mode is made 0600 first.
 */
export async function readCredential(workDir: string): Promise<string | undefined> {
  const path = join(workDir, CREDENTIAL_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  await secureMeta(workDir);
  await chmod(path, 0o600);
  const credential = text.trim();
  return credential === '' ? undefined : credential;
}

/** Keeps `credential` in `<work-dir>/meta/credential` (0600, directory 0700), atomically. */
export async function saveCredential(workDir: string, credential: string): Promise<void> {
  await secureMeta(workDir);
  await writeAtomic(join(workDir, CREDENTIAL_FILE), `${credential}\n`, { ownerOnly: true });
}
