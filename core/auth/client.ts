/**
 * The client side of authentication: one interceptor adds `authorization: Bearer <token>` to
 * every call of a client (it works over insecure channels, unlike call credentials), and
 * {@link resolveToken} finds the token a CLI or daemon should use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InterceptingCall, type ClientOptions, type Interceptor } from '@grpc/grpc-js';
import { GalaxyError } from '../errors.js';
import { AUTHORIZATION_KEY } from './principal.js';

/** Where `galaxy up` writes the admin token, relative to its work directory. */
export const ADMIN_TOKEN_FILE = 'admin.token';
/** Where the CLI looks for a token last: the admin token of a `galaxy up` run from here. */
export const DEFAULT_TOKEN_PATH = `.galaxy/${ADMIN_TOKEN_FILE}`;

/**
 * A token, or where to read the current one at each call (an agent swaps its join token for its
 * credential without making a new client).
 */
export type TokenSource = string | (() => string | undefined);

/** An interceptor that sends `token` as `authorization: Bearer <token>` with every call. */
export function bearerInterceptor(token: TokenSource): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        const value = typeof token === 'function' ? token() : token;
        if (value !== undefined && value !== '') metadata.set(AUTHORIZATION_KEY, `Bearer ${value}`);
        next(metadata, listener);
      },
    });
}

/**
 * Client options that authenticate with `token` (none when it is undefined), merged into `base`.
 * `new OperatorClient(address, channelCredentials(tls), clientOptions(token))`.
 */
export function clientOptions(
  token: TokenSource | undefined,
  base: Partial<ClientOptions> = {},
): Partial<ClientOptions> {
  if (token === undefined || token === '') return base;
  return { ...base, interceptors: [...(base.interceptors ?? []), bearerInterceptor(token)] };
}

/** Reads a token file (trimmed); `GALAXY_E_UNAUTHENTICATED` if it cannot be read or is empty. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GalaxyError(
      'GALAXY_E_UNAUTHENTICATED',
      `cannot read the token file ${path}: ${(error as Error).message}`,
    );
  }
  const token = text.trim();
  if (token === '') throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', `the token file ${path} is empty`);
  return token;
}

/**
 * The token to call with: `flag` (`--token`), else `$GALAXY_TOKEN`, else the file named by
 * `$GALAXY_TOKEN_FILE`, else `./.galaxy/admin.token` if it exists; undefined when there is none
 * (open servers need none).
 */
export function resolveToken(
  options: { flag?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): string | undefined {
  const env = options.env ?? process.env;
  if (options.flag) return options.flag;
  if (env.GALAXY_TOKEN) return env.GALAXY_TOKEN;
  if (env.GALAXY_TOKEN_FILE) return readTokenFile(env.GALAXY_TOKEN_FILE);
  const fallback = resolve(options.cwd ?? process.cwd(), DEFAULT_TOKEN_PATH);
  return existsSync(fallback) ? readTokenFile(fallback) : undefined;
}
