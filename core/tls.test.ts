/**
 * TLS credentials over real gRPC with throwaway CAs (openssl): a server given a CA requires a
 * client certificate signed by it (mutual TLS) and refuses plaintext clients, clients without a
 * certificate and clients whose certificate another CA signed; a client given a CA refuses a
 * server that CA did not sign. Wrong files stop a process at once with a coded error.
 */
import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate, makeCa, type TestCa } from '../test/helpers/certs.js';
import { OperatorClient, OperatorService } from '../proto/gen/galaxy/v1/operator.js';
import { serveGrpc, type ServingApi } from './grpc-server.js';
import {
  channelCredentials,
  channelCredentialsFromCa,
  serverCredentials,
  tlsEnabled,
  type ServerTls,
  type TlsFiles,
} from './tls.js';

let dir = '';
let ca: TestCa;
let other: TestCa;
let server: Required<TlsFiles>;
let client: Required<TlsFiles>;
let stranger: Required<TlsFiles>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-tls-'));
  ca = makeCa(dir, 'galaxy-ca');
  other = makeCa(dir, 'other-ca');
  server = issueCertificate(ca, 'server');
  client = issueCertificate(ca, 'client');
  stranger = issueCertificate(other, 'stranger');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Serves an Operator whose ListAgents answers empty, with `tls`. */
function serve(tls: ServerTls | undefined): Promise<ServingApi> {
  return serveGrpc(
    'tls test',
    '127.0.0.1:0',
    (s) => {
      s.addService(OperatorService, {
        listAgents: (_call: unknown, cb: (e: null, r: { agents: []; media: [] }) => void) => {
          cb(null, { agents: [], media: [] });
        },
      });
    },
    undefined,
    tls ? { tls } : {},
  );
}

/** The error of one ListAgents call to `address` with `creds` (null when it succeeded). */
async function call(address: string, creds: ChannelCredentials): Promise<ServiceError | null> {
  const c = new OperatorClient(address, creds);
  try {
    return await new Promise((resolve) => {
      c.listAgents({}, new Metadata(), { deadline: Date.now() + 5000 }, (error) => {
        resolve(error);
      });
    });
  } finally {
    c.close();
  }
}

describe('a server given a CA (mutual TLS)', () => {
  let api: ServingApi;
  beforeAll(async () => {
    api = await serve(server);
  });
  afterAll(async () => {
    await api.stop();
  });

  it('answers a client whose certificate the CA signed and which verifies the server', async () => {
    expect(await call(api.address, channelCredentials(client))).toBeNull();
  });

  it('refuses a plaintext client', async () => {
    expect(await call(api.address, channelCredentials())).not.toBeNull();
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    expect(await call(api.address, channelCredentials({ ca: ca.cert }))).not.toBeNull();
    expect(await call(api.address, channelCredentials({ ...stranger, ca: ca.cert }))).not.toBeNull();
  });

  it('is refused by a client that trusts another CA', async () => {
    expect(
      await call(api.address, channelCredentials({ cert: client.cert, key: client.key, ca: other.cert })),
    ).not.toBeNull();
  });
});

describe('a TLS server that asks for no client certificate', () => {
  let api: ServingApi;
  beforeAll(async () => {
    api = await serve({ ...server, clientCertificates: 'none' });
  });
  afterAll(async () => {
    await api.stop();
  });

  it('answers a client that verifies it with the CA, from a file or from PEM text', async () => {
    expect(await call(api.address, channelCredentials({ ca: ca.cert }))).toBeNull();
    expect(await call(api.address, channelCredentialsFromCa(await readFile(ca.cert, 'utf8')))).toBeNull();
  });

  it('still refuses plaintext, and a client that trusts another CA', async () => {
    expect(await call(api.address, channelCredentials())).not.toBeNull();
    expect(await call(api.address, channelCredentials({ ca: other.cert }))).not.toBeNull();
  });
});

describe('TLS files', () => {
  it('are optional: no file, no TLS', () => {
    expect(tlsEnabled(undefined)).toBe(false);
    expect(tlsEnabled({ cert: '', key: '', ca: '' })).toBe(false);
    expect(tlsEnabled({ ca: 'x' })).toBe(true);
    expect(serverCredentials(undefined)._isSecure()).toBe(false);
    expect(channelCredentials({})._isSecure()).toBe(false);
  });

  it('are checked at once, with an error naming the flag and the file', async () => {
    expect(() => channelCredentials({ cert: client.cert })).toThrow(
      /GALAXY_E_INVALID_ARGUMENT: --tls-cert and --tls-key go together/,
    );
    expect(() => serverCredentials({ ca: ca.cert })).toThrow(/a server needs --tls-cert and --tls-key/);
    expect(() => channelCredentials({ ca: join(dir, 'missing.crt') })).toThrow(
      /--tls-ca .*missing\.crt cannot be read/,
    );
    expect(() => serverCredentials({ cert: server.cert, key: client.key })).toThrow(
      /--tls-key .*client\.key is not the key of the certificate in --tls-cert .*server\.crt/,
    );
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    expect(() => channelCredentials({ ca: garbage })).toThrow(/--tls-ca .*garbage\.pem holds no PEM certificate/);
    expect(() => serverCredentials({ cert: server.cert, key: garbage })).toThrow(/holds no PEM private key/);
    expect(() => channelCredentialsFromCa('nonsense')).toThrow(/GALAXY_TLS_CA holds no PEM certificate/);
  });
});
