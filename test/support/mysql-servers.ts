/**
 * The MySQL-protocol servers every MySQL test runs against, each with its own client tools: MariaDB with the
 * host's mariadb-dump/mariadb, MySQL with mysqldump/mysql from the MySQL peer's rootfs (passed to the product
 * as SAFEKEEP_MYSQLDUMP / SAFEKEEP_MYSQL). Use with `describe.each(await mysqlServers())`.
 */
import { type DatabasePeer, mysqlClientTools, peer } from './peers.ts';

export interface MysqlServer {
  readonly server: 'MariaDB' | 'MySQL';
  /** Undefined when the peer is down (locally; under CI `peer` throws). */
  readonly peer: DatabasePeer | undefined;
  /** Environment for the CLI so that it uses this server's own client tools. */
  readonly tools: Record<string, string>;
}

export async function mysqlServers(): Promise<MysqlServer[]> {
  const mysqlTools = mysqlClientTools();
  return [
    { server: 'MariaDB', peer: await peer('mariadb'), tools: {} },
    {
      server: 'MySQL',
      peer: await peer('mysql'),
      tools: { SAFEKEEP_MYSQLDUMP: mysqlTools.mysqldump, SAFEKEEP_MYSQL: mysqlTools.mysql },
    },
  ];
}
