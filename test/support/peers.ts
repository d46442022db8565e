/**
 * Where the local peers started by `scripts/peers.sh` listen, and their credentials.
 *
 * A test asks for the peers it needs with `await peer('postgres')`: when the peer is down, it gets
 * `undefined` and a loud skip reason locally, and a failure under CI=true, where every peer must be up.
 *
 * PostgreSQL (both), MariaDB and MySQL offer TLS with a certificate for 127.0.0.1 and localhost from a private
 * CA made per run directory (`peerCa()`); plain connections work too. Dolt and Doltgres have no TLS.
 */
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const PEER_NAMES = ['postgres', 'mariadb', 'moto', 'versitygw', 'dolt', 'doltgres', 'postgres18', 'mysql'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

export interface DatabasePeer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

export interface S3Peer {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface MotoPeer {
  readonly endpoint: string;
}

interface PeerTypes {
  postgres: DatabasePeer;
  postgres18: DatabasePeer;
  mariadb: DatabasePeer;
  mysql: DatabasePeer;
  dolt: DatabasePeer;
  doltgres: DatabasePeer;
  versitygw: S3Peer;
  moto: MotoPeer;
}

export const RUN_DIR = process.env.SAFEKEEP_RUN ?? '/tmp/safekeep-peers';
const HOST = '127.0.0.1';

function readEnvFile(name: string): Record<string, string> {
  try {
    const text = readFileSync(join(RUN_DIR, name), 'utf8');
    return Object.fromEntries(
      text
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  } catch {
    return {};
  }
}

const ports: Record<PeerName, number> = {
  postgres: Number(process.env.SAFEKEEP_PG_PORT ?? 55432),
  mariadb: Number(process.env.SAFEKEEP_MARIADB_PORT ?? 53306),
  moto: Number(process.env.SAFEKEEP_MOTO_PORT ?? 55000),
  versitygw: Number(process.env.SAFEKEEP_S3_PORT ?? 57070),
  dolt: Number(process.env.SAFEKEEP_DOLT_PORT ?? 53307),
  doltgres: Number(process.env.SAFEKEEP_DOLTGRES_PORT ?? 55433),
  postgres18: Number(process.env.SAFEKEEP_PG18_PORT ?? 55418),
  mysql: Number(process.env.SAFEKEEP_MYSQL_PORT ?? 53308),
};

/** The generated password every database peer's superuser shares (from credentials.env, 0600). */
export function peerPassword(): string {
  return readEnvFile('credentials.env').SAFEKEEP_PEER_USER_PASSWORD ?? '';
}

export interface PeerCa {
  /** The PEM file, for tools that take a path (`sslrootcert=`, `--ssl-ca=`). */
  readonly path: string;
  /** Its text, for drivers that take the certificate itself (`ssl: { ca }`). */
  readonly pem: string;
}

/**
 * The private CA that signed the TLS certificate of the PostgreSQL, MariaDB and MySQL peers (for 127.0.0.1 and
 * localhost), made by `scripts/peers.sh start` once per run directory. Throws when there is none yet.
 */
export function peerCa(): PeerCa {
  const path = readEnvFile('peers.env').SAFEKEEP_PEER_CA ?? join(RUN_DIR, 'tls', 'ca.pem');
  try {
    return { path, pem: readFileSync(path, 'utf8') };
  } catch (error) {
    throw new Error(`no test CA at ${path}; start the peers with: bash scripts/peers.sh start`, { cause: error });
  }
}

/**
 * MySQL's own mysqldump and mysql client (from the MySQL peer's Debian unstable rootfs, through wrappers
 * scripts/setup.sh writes), to hand to the product as SAFEKEEP_MYSQLDUMP / SAFEKEEP_MYSQL.
 */
export function mysqlClientTools(): { readonly mysqldump: string; readonly mysql: string } {
  const env = readEnvFile('peers.env');
  const bin = join(process.env.SAFEKEEP_HOME ?? join(homedir(), '.cache', 'safekeep'), 'bin');
  return {
    mysqldump: env.SAFEKEEP_MYSQL_MYSQLDUMP ?? join(bin, 'mysql-mysqldump'),
    mysql: env.SAFEKEEP_MYSQL_CLIENT ?? join(bin, 'mysql-client'),
  };
}

/** Where a peer listens and how to log in, whether or not it is up (scripts use this; tests use `peer`). */
export function peerCoordinates<N extends PeerName>(name: N): PeerTypes[N] {
  const credentials = readEnvFile('credentials.env');
  const password = credentials.SAFEKEEP_PEER_USER_PASSWORD ?? '';
  const port = ports[name];
  const peers: PeerTypes = {
    postgres: { host: HOST, port, user: 'postgres', password },
    postgres18: { host: HOST, port, user: 'postgres', password },
    mariadb: { host: HOST, port, user: 'root', password },
    mysql: { host: HOST, port, user: 'root', password },
    dolt: { host: HOST, port, user: 'root', password },
    doltgres: { host: HOST, port, user: 'postgres', password },
    versitygw: {
      endpoint: `http://${HOST}:${port}`,
      accessKeyId: credentials.SAFEKEEP_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: credentials.SAFEKEEP_S3_SECRET_ACCESS_KEY ?? '',
    },
    moto: { endpoint: `http://${HOST}:${port}` },
  };
  return peers[name];
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.connect(port, HOST);
  });
}

/**
 * The peer's coordinates when it is listening. Absent: under CI=true this throws (CI must run everything);
 * locally it returns undefined after printing why, so the caller can `describe.skipIf(!peer)`.
 */
export async function peer<N extends PeerName>(name: N): Promise<PeerTypes[N] | undefined> {
  if (await listening(ports[name])) return peerCoordinates(name);
  const reason = `peer ${name} is not listening on ${HOST}:${ports[name]}; start it with: bash scripts/peers.sh start ${name}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: every peer is required)`);
  console.warn(`\n*** SKIPPING: ${reason} ***\n`);
  return undefined;
}
