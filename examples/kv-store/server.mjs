// kv-store: a tiny stateful service for Galaxy's persistent disk volumes (docs/disks.md). No
// dependencies; Node 20+. Each PUT is written to a file on the pod's volume before it is answered,
// so the data outlives the container when the volume is persistent.
//
//   PUT /kv/<key>  stores the body (at most 64 KiB) as <KV_DIR>/<key>; 204
//   GET /kv/<key>  200 with the value, or 404
//   GET /health    200 "ok"
/* global process, Buffer, console -- Node's globals */
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';

const port = Number(process.env.PORT_HTTP ?? process.env.PORT ?? 8080);
const dir = join(process.env.GALAXY_SANDBOX ?? process.cwd(), process.env.KV_DIR ?? 'data');
const KEY = /^[A-Za-z0-9_.-]{1,100}$/;
mkdirSync(dir, { recursive: true });

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {string} body
 */
function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Writes `value` under `key` durably: a temporary file, fsync, then a rename over the old one.
 * @param {string} key
 * @param {Buffer} value
 */
function put(key, value) {
  const tmp = join(dir, `.${key}.tmp`);
  writeFileSync(tmp, value);
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, join(dir, key));
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const key = path.startsWith('/kv/') ? path.slice(4) : '';
  if (path === '/health') {
    send(res, 200, 'ok');
  } else if (!KEY.test(key) || key.startsWith('.')) {
    send(res, 400, 'bad key');
  } else if (req.method === 'GET') {
    get(res, key);
  } else if (req.method === 'PUT') {
    store(req, res, key);
  } else {
    send(res, 405, 'GET or PUT');
  }
});

/**
 * @param {import('node:http').ServerResponse} res
 * @param {string} key
 */
function get(res, key) {
  let value;
  try {
    value = readFileSync(join(dir, key), 'utf8');
  } catch {
    send(res, 404, 'no such key');
    return;
  }
  send(res, 200, value);
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {string} key
 */
function store(req, res, key) {
  /** @type {Buffer[]} */
  const chunks = [];
  let size = 0;
  req.on('data', (/** @type {Buffer} */ chunk) => {
    size += chunk.length;
    if (size > 64 * 1024) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    try {
      put(key, Buffer.concat(chunks));
      res.writeHead(204).end();
    } catch (error) {
      send(res, 507, String(error));
    }
  });
}

server.listen(port, () => {
  console.log(`kv-store on ${port}, data in ${dir}`);
});
process.on('SIGTERM', () => {
  server.close(() => {
    process.exit(0);
  });
});
