import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_OUTPUT_DIR } from './paths.js';

/** PEM files a test made with openssl: a CA, a server and a client certificate it signed, and a stranger. */
export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  /** For 127.0.0.1 and localhost, signed by `caFile`. */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** A client certificate signed by `caFile`, for mutual TLS. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** Another CA, and a server certificate for 127.0.0.1 it signed: valid, but not from `caFile`. */
  readonly otherCaFile: string;
  readonly otherServerCertFile: string;
  readonly otherServerKeyFile: string;
  /** Deletes the folder. */
  remove(): void;
}

/** P-256 keys: quick to make, and what managed Redis offerings accept. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
}

function makeSigned(dir: string, name: string, ca: string, extensions: string): void {
  openssl(dir, ['req', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Generates the certificates under test-output/tls/<name>/, afresh. */
export function makeTestCertificates(name: string): TestCertificates {
  const dir = join(TEST_OUTPUT_DIR, 'tls', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  makeCa(dir, 'ca');
  makeSigned(dir, 'server', 'ca', server);
  makeSigned(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\n');
  makeCa(dir, 'other-ca');
  makeSigned(dir, 'other-server', 'other-ca', server);
  const file = (base: string) => join(dir, base);
  return {
    dir,
    caFile: file('ca.crt'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    otherCaFile: file('other-ca.crt'),
    otherServerCertFile: file('other-server.crt'),
    otherServerKeyFile: file('other-server.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * redis-server arguments for a TLS port beside its plain one (which the test keeps for looking
 * inside): the server presents `cert`/`key`, and with `authClients` demands a client certificate
 * signed by `ca`.
 */
export function redisTlsArgs(
  tlsPort: number,
  { cert, key, ca, authClients = false }: { cert: string; key: string; ca: string; authClients?: boolean },
): string[] {
  return [
    '--tls-port',
    String(tlsPort),
    '--tls-cert-file',
    cert,
    '--tls-key-file',
    key,
    '--tls-ca-cert-file',
    ca,
    '--tls-auth-clients',
    authClients ? 'yes' : 'no',
  ];
}
