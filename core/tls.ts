/**
 * TLS for every Galaxy server and client, in one place: each gRPC server's credentials come from
 * {@link serverCredentials} and each client's from {@link channelCredentials} (plaintext when no
 * file is given), so `--tls-cert`, `--tls-key` and `--tls-ca` mean the same thing everywhere:
 *
 * - a server with a certificate and key serves TLS; given a CA too, it asks every client for a
 *   certificate and refuses a connection without one signed by that CA (mutual TLS);
 * - a client given a CA verifies the server's certificate (name and signature) against it;
 *   given a certificate and key, it presents them to servers that ask.
 *
 * Files are read and checked when credentials are made, so a daemon with a wrong path, a file
 * that is not PEM, or a key that does not belong to its certificate stops at once with a coded
 * error naming the flag and the file, instead of failing every handshake later.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { GalaxyError } from './errors.js';

/** Paths of PEM files: this process's certificate and key, and the CA it trusts. */
export interface TlsFiles {
  /** `--tls-cert`: the certificate (chain) this process presents. */
  readonly cert?: string;
  /** `--tls-key`: the private key of {@link cert}. */
  readonly key?: string;
  /** `--tls-ca`: the CA certificate(s) that peers' certificates must be signed by. */
  readonly ca?: string;
}

/** Whether a server given a CA requires client certificates (`verify`, the default) or asks none. */
export type ClientCertificates = 'verify' | 'none';

/** A server's TLS: its files, and whether it asks clients for certificates. */
export interface ServerTls extends TlsFiles {
  readonly clientCertificates?: ClientCertificates;
}

/** The PEM files read and checked. */
interface LoadedTls {
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly ca?: Buffer;
}

function invalid(message: string): GalaxyError {
  return new GalaxyError('GALAXY_E_INVALID_ARGUMENT', message);
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw invalid(`${flag} ${path} cannot be read: ${(error as Error).message}`);
  }
}

function parseCertificate(pem: Buffer, flag: string, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw invalid(`${flag} ${path} holds no PEM certificate`);
  }
}

/** True when any TLS file is named. */
export function tlsEnabled(tls: TlsFiles | undefined): boolean {
  return tls !== undefined && [tls.cert, tls.key, tls.ca].some((f) => f !== undefined && f !== '');
}

/** Drops empty entries (unset flags and environment variables). */
function named(tls: TlsFiles | undefined): TlsFiles {
  const out: { cert?: string; key?: string; ca?: string } = {};
  if (tls?.cert) out.cert = tls.cert;
  if (tls?.key) out.key = tls.key;
  if (tls?.ca) out.ca = tls.ca;
  return out;
}

/**
 * Reads and checks the files: certificate and key come together and belong to each other, and
 * every file holds PEM of the right kind. Throws `GALAXY_E_INVALID_ARGUMENT` naming the flag.
 */
function load(tls: TlsFiles | undefined): LoadedTls {
  const files = named(tls);
  if ((files.cert === undefined) !== (files.key === undefined))
    throw invalid('--tls-cert and --tls-key go together: give both, or neither');
  const out: { cert?: Buffer; key?: Buffer; ca?: Buffer } = {};
  if (files.cert !== undefined && files.key !== undefined) {
    const cert = readPem(files.cert, '--tls-cert');
    const key = readPem(files.key, '--tls-key');
    const certificate = parseCertificate(cert, '--tls-cert', files.cert);
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw invalid(`--tls-key ${files.key} holds no PEM private key`);
    }
    if (!certificate.checkPrivateKey(privateKey))
      throw invalid(`--tls-key ${files.key} is not the key of the certificate in --tls-cert ${files.cert}`);
    Object.assign(out, { cert, key });
  }
  if (files.ca !== undefined) {
    const ca = readPem(files.ca, '--tls-ca');
    parseCertificate(ca, '--tls-ca', files.ca);
    out.ca = ca;
  }
  return out;
}

/**
 * A server's credentials: plaintext without files; TLS with `cert` and `key`; and with `ca` as
 * well, client certificates are required and verified against it (unless `clientCertificates`
 * is `none`, for a server whose clients hold no certificate, such as the AppMaster's AppWorkers).
 */
export function serverCredentials(tls?: ServerTls): ServerCredentials {
  if (!tlsEnabled(tls)) return ServerCredentials.createInsecure();
  const loaded = load(tls);
  if (!loaded.cert || !loaded.key)
    throw invalid('a server needs --tls-cert and --tls-key to serve TLS (--tls-ca alone only verifies peers)');
  const verifyClients = loaded.ca !== undefined && tls?.clientCertificates !== 'none';
  return ServerCredentials.createSsl(
    verifyClients ? (loaded.ca ?? null) : null,
    [{ private_key: loaded.key, cert_chain: loaded.cert }],
    verifyClients,
  );
}

/**
 * A client's credentials: plaintext without files; TLS verifying the server against `ca` (the
 * system's roots when only a certificate is given), presenting `cert` and `key` when given.
 */
export function channelCredentials(tls?: TlsFiles): ChannelCredentials {
  if (!tlsEnabled(tls)) return credentials.createInsecure();
  const loaded = load(tls);
  return credentials.createSsl(loaded.ca ?? null, loaded.key ?? null, loaded.cert ?? null);
}

/**
 * A client's credentials from a CA certificate's PEM text rather than a file: what an AppWorker
 * gets in its environment (`GALAXY_TLS_CA`) to verify the AppMaster. Plaintext when empty.
 */
export function channelCredentialsFromCa(pem: string | undefined): ChannelCredentials {
  if (pem === undefined || pem.trim() === '') return credentials.createInsecure();
  const ca = Buffer.from(pem);
  try {
    new X509Certificate(ca);
  } catch {
    throw invalid('GALAXY_TLS_CA holds no PEM certificate');
  }
  return credentials.createSsl(ca);
}

/** The PEM text of the CA file in `tls`, if one is named (read and checked). */
export function caPem(tls: TlsFiles | undefined): string | undefined {
  const ca = load({ ca: named(tls).ca }).ca;
  return ca?.toString('utf8');
}

/** The options of a Node `https` server that serves TLS as {@link serverCredentials} does. */
export interface HttpsOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

/**
 * The same files, read and checked the same way, for an HTTPS server (the HTTP API beside a gRPC
 * server): undefined without files (plaintext); with `ca`, client certificates are required and
 * verified against it unless `clientCertificates` is `none`.
 */
export function httpsOptions(tls?: ServerTls): HttpsOptions | undefined {
  if (!tlsEnabled(tls)) return undefined;
  const loaded = load(tls);
  if (!loaded.cert || !loaded.key)
    throw invalid('a server needs --tls-cert and --tls-key to serve TLS (--tls-ca alone only verifies peers)');
  const verifyClients = loaded.ca !== undefined && tls?.clientCertificates !== 'none';
  return {
    cert: loaded.cert,
    key: loaded.key,
    ...(verifyClients ? { ca: loaded.ca } : {}),
    requestCert: verifyClients,
    rejectUnauthorized: verifyClients,
  };
}
