/**
 * The web console's files, built by `npm run build` (`console/build.mjs`, esbuild) into
 * `dist/console/`, read once at start and served from memory: a fixed set of names, so no request
 * path ever reaches the file system. The console needs no token to load; every call it makes to
 * the API carries the one its user typed in.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { packageRoot } from '../paths.js';
import type { HttpApp } from './server.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The built console's directory. */
export function consoleDir(): string {
  return join(packageRoot(), 'dist', 'console');
}

/**
 * Serves the console at `/` when it was built; returns
 * false when it was not (an API without a console: `npm run build` builds it).
 */
export function registerConsole(app: HttpApp, dir = consoleDir()): boolean {
  if (!existsSync(join(dir, 'index.html'))) return false;
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  const index = files.get('index.html');
  const headers = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    // Only the console's own script and styles: nothing from a CDN, no inline script.
    'content-security-policy':
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  };
  const page = (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply
      .headers(headers)
      .type(index?.type ?? 'text/html')
      .send(index?.body);
  // One document: the console picks its page from the URL's hash (`#/jobs/hello`).
  app.get('/', { schema: { hide: true } }, page);
  for (const [name, file] of files)
    if (name !== 'index.html')
      app.get(`/${name}`, { schema: { hide: true } }, (_request, reply) =>
        reply
          .headers({ ...headers, 'cache-control': 'no-cache' })
          .type(file.type)
          .send(file.body),
      );
  return true;
}
