// hello-service: the example service of Galaxy's AppMaster. No dependencies; Node 20+.
//
//   GET /health  200 "ok" (500 when HELLO_BROKEN=1, to exercise rollbacks)
//   GET /        {"version", "pod", "pid", "message"}; message is data/content/message.txt in the
//                sandbox, read on every request, so a data-package reload changes it at once
//   GET /crash   exits with code 1, to exercise restarts
//   GET /live    200 "alive" (503 once wedged, or always when HELLO_DEAD=1: a liveness check)
//   GET /wedge   the process stops being alive but keeps running, to exercise liveness restarts
/* global process, Buffer, setImmediate, console -- Node's globals */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const port = Number(process.env.PORT_HTTP ?? process.env.PORT ?? 8080);
const sandbox = process.env.GALAXY_SANDBOX ?? process.cwd();
const broken = process.env.HELLO_BROKEN === '1';
let wedged = process.env.HELLO_DEAD === '1';

function message() {
  try {
    return readFileSync(join(sandbox, 'data', 'content', 'message.txt'), 'utf8').trim();
  } catch {
    return 'hello';
  }
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {string} type
 * @param {string} body
 */
function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/health') {
    send(res, broken ? 500 : 200, 'text/plain', broken ? 'broken' : 'ok');
  } else if (path === '/') {
    const body = {
      version: process.env.GALAXY_VERSION ?? 'dev',
      pod: process.env.GALAXY_POD_ID ?? '',
      pid: process.pid,
      message: message(),
    };
    send(res, 200, 'application/json', JSON.stringify(body));
  } else if (path === '/live') {
    send(res, wedged ? 503 : 200, 'text/plain', wedged ? 'wedged' : 'alive');
  } else if (path === '/wedge') {
    wedged = true;
    send(res, 200, 'text/plain', 'wedged');
  } else if (path === '/crash') {
    send(res, 200, 'text/plain', 'crashing');
    setImmediate(() => process.exit(1));
  } else {
    send(res, 404, 'text/plain', 'not found');
  }
});

server.listen(port, () => {
  console.log(`hello-service ${process.env.GALAXY_VERSION ?? 'dev'} listening on ${port}`);
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
