/**
 * The PostgreSQL, MariaDB and MySQL peers offer TLS with a certificate for 127.0.0.1 from a private CA
 * (scripts/peers.sh), so verify-full is tested for real: the chain must lead to that CA and the name must
 * match. TLS is offered, not required: plain connections keep working.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type DatabasePeer, peer, peerCa } from '#test/support/peers.ts';

const postgresPeers = { postgres: await peer('postgres'), postgres18: await peer('postgres18') };
const mysqlPeers = { mariadb: await peer('mariadb'), mysql: await peer('mysql') };
const anyUp = [...Object.values(postgresPeers), ...Object.values(mysqlPeers)].some(Boolean);

const ca = anyUp ? peerCa().pem : '';
/** A CA with the same name as the real one but its own key: trusting it must not verify the peers. */
const impostorCa = anyUp ? selfSignedCa(new X509Certificate(ca).subject) : '';

function selfSignedCa(subject: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'safekeep-impostor-ca-'));
  try {
    const pem = join(dir, 'ca.pem');
    const key = join(dir, 'ca.key');
    const name = `/${subject.split('\n').join('/')}`;
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', pem, '-days', '1', '-subj', name],
      { stdio: 'pipe' },
    );
    return readFileSync(pem, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How Node's TLS reports a chain that does not lead to a trusted CA (which one depends on whether the server
 * sends its CA along); pg passes the error through, mysql2 wraps it as HANDSHAKE_SSL_ERROR with its message.
 */
const untrusted =
  /unable to verify the first certificate|self-signed certificate in certificate chain|certificate signature failure/;

function restartHint(name: string): string {
  return `peer ${name} runs without TLS (started before TLS was added?); restart it: bash scripts/peers.sh restart ${name}`;
}

describe.each(Object.entries(postgresPeers))('%s peer over TLS', (name, server) => {
  const connect = async (ssl: pg.ClientConfig['ssl']) => {
    const client = new pg.Client({ ...(server as DatabasePeer), database: 'postgres', ssl });
    await client.connect();
    return client;
  };
  const session = async (client: pg.Client) => {
    const { rows } = await client.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return rows[0] as { ssl: boolean; version: string | null };
  };

  it.skipIf(!server)('verifies the certificate against the test CA and the name 127.0.0.1 (verify-full)', async () => {
    // Prepare
    const plain = await connect(false);
    const offered = (await plain.query('SHOW ssl')).rows[0]?.ssl;
    await plain.end();
    expect(offered, restartHint(name)).toBe('on');

    // Act
    const client = await connect({ ca, rejectUnauthorized: true });

    // Assess
    try {
      expect(await session(client)).toEqual({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
    } finally {
      await client.end();
    }
  });

  it.skipIf(!server)('rejects the certificate when another CA of the same name is trusted', async () => {
    await expect(connect({ ca: impostorCa, rejectUnauthorized: true })).rejects.toThrow(untrusted);
  });

  it.skipIf(!server)('rejects the certificate for a name it was not issued for', async () => {
    await expect(connect({ ca, rejectUnauthorized: true, servername: 'db.example.test' })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it.skipIf(!server)('still accepts plain connections (TLS is offered, not required)', async () => {
    const client = await connect(false);
    try {
      expect(await session(client)).toEqual({ ssl: false, version: null });
    } finally {
      await client.end();
    }
  });
});

describe.each(Object.entries(mysqlPeers))('%s peer over TLS', (name, server) => {
  const tlsVersion = async (connection: mysql.Connection) => {
    const [rows] = (await connection.query("SHOW SESSION STATUS LIKE 'Ssl_version'")) as unknown as [{ Value: string }[]];
    return rows[0]?.Value;
  };

  it.skipIf(!server)('verifies the certificate against the test CA and its name (verify-full)', async () => {
    // Prepare
    const plain = await mysql.createConnection({ ...(server as DatabasePeer) });
    const [[configured]] = (await plain.query('SELECT @@ssl_ca AS ca')) as unknown as [[{ ca: string | null }]];
    await plain.end();
    expect(configured.ca, restartHint(name)).toBeTruthy();

    // Act
    const connection = await mysql.createConnection({
      ...(server as DatabasePeer),
      ssl: { ca, rejectUnauthorized: true, verifyIdentity: true },
    });

    // Assess
    try {
      expect(await tlsVersion(connection)).toMatch(/^TLSv1\.[23]$/);
    } finally {
      await connection.end();
    }
  });

  it.skipIf(!server)('rejects the certificate when another CA of the same name is trusted', async () => {
    await expect(
      mysql.createConnection({
        ...(server as DatabasePeer),
        ssl: { ca: impostorCa, rejectUnauthorized: true, verifyIdentity: true },
      }),
    ).rejects.toThrow(untrusted);
  });

  it.skipIf(!server)('still accepts plain connections (TLS is offered, not required)', async () => {
    const connection = await mysql.createConnection({ ...(server as DatabasePeer) });
    try {
      expect(await tlsVersion(connection)).toBe('');
    } finally {
      await connection.end();
    }
  });
});
