/**
 * Throwaway certificate authorities for the TLS tests, made at test time with the openssl
 * command line into a temporary directory: EC P-256 keys (fast to generate), one-day
 * validity, leaf certificates for 127.0.0.1 and localhost usable as both server and client
 * (etcd peers dial each other with their peer certificate). Nothing is checked in.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

export interface IssuedCert {
  /** PEM certificate file. */
  readonly cert: string;
  /** PEM private key file. */
  readonly key: string;
}

export class TestCa {
  private serial = 1;

  private constructor(readonly dir: string, readonly name: string, readonly cert: string, private readonly key: string, private readonly config: string) {}

  /** A new self-signed CA whose files live in `dir`. */
  static create(dir: string, name: string): TestCa {
    const config = join(dir, 'openssl.cnf');
    writeFileSync(config, CONFIG);
    const cert = join(dir, `${name}.pem`);
    const key = join(dir, `${name}-key.pem`);
    openssl(['req', '-x509', '-config', config, '-extensions', 'ca_ext', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`]);
    return new TestCa(dir, name, cert, key, config);
  }

  /** A leaf certificate signed by this CA, with SANs 127.0.0.1 and localhost. */
  issue(name: string): IssuedCert {
    const cert = join(this.dir, `${name}.pem`);
    const key = join(this.dir, `${name}-key.pem`);
    const csr = join(this.dir, `${name}.csr`);
    openssl(['req', '-new', '-config', this.config, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', this.cert, '-CAkey', this.key, '-set_serial', String(this.serial++), '-days', '1', '-extfile', this.config, '-extensions', 'leaf_ext', '-out', cert]);
    return { cert, key };
  }
}

/** A temporary directory with two unrelated CAs: `ca` (trusted) and `rogue` (not). */
export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'conclave-tls-'));
  readonly ca = TestCa.create(this.dir, 'ca');
  readonly rogue = TestCa.create(this.dir, 'rogue-ca');

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}
