/**
 * Throwaway certificate authorities for TLS tests, made with `openssl` (Debian's; see
 * scripts/prerequisites.sh): a CA, and certificates it signs for servers and clients, valid for
 * `127.0.0.1` and `localhost`. Everything lives in the directory given; the caller removes it.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsFiles } from '../../core/tls.js';

/** A CA: its certificate and key files. */
export interface TestCa {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
  readonly dir: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes a self-signed CA named `name` in `dir`. */
export function makeCa(dir: string, name: string): TestCa {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { name, cert, key, dir };
}

/**
 * A certificate for `name` signed by `ca`, good for servers and clients on this host (SAN
 * `IP:127.0.0.1`, `DNS:localhost`). Returns its files as {@link TlsFiles}, with `ca` set to the
 * signing CA's certificate.
 */
export function issueCertificate(ca: TestCa, name: string): Required<TlsFiles> {
  const cert = join(ca.dir, `${name}.crt`);
  const key = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const ext = join(ca.dir, `${name}.ext`);
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ].join('\n'),
  );
  openssl(['req', ...EC_KEY, '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key, ca: ca.cert };
}
