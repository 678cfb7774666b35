// A throwaway TLS certificate for 127.0.0.1 (openssl), for tests of what serves or fronts HTTPS and WSS.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Writes a self-signed certificate for 127.0.0.1 and its key into `dir`; returns their paths. */
export function throwawayCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}
