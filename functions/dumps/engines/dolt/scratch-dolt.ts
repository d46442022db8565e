/**
 * A throwaway Dolt sql-server for the restore drill: an empty data directory and a private Dolt home in a
 * temporary directory, 127.0.0.1 at a free port, and our AWS settings (the server reads the backup from S3
 * and DynamoDB itself, as a real restore would). Its passwordless root gets a random password before use.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnProducer } from '../../adapters/child-process.ts';
import type { DatabaseEndpoint } from '../../source.ts';
import { withMysql } from '../mysql/connection.ts';
import { freePort, type ScratchServer, scratchPassword, scratchServerOf, whenReady } from '../scratch-server.ts';
import { awsToolEnvironment, doltBinary, scratchDirectory } from './tools.ts';

export async function startScratchDolt(endpointUrl: string | undefined): Promise<ScratchServer> {
  const scratch = await scratchDirectory('dolt-drill');
  try {
    const port = await freePort();
    const password = scratchPassword();
    const data = join(scratch.path, 'data');
    const config = join(scratch.path, 'server.yaml');
    await writeFile(
      config,
      `log_level: warning\ndata_dir: ${data}\ncfg_dir: ${join(data, '.doltcfg')}\nprivilege_file: ${join(data, '.doltcfg', 'privileges.db')}\nbranch_control_file: ${join(data, '.doltcfg', 'branch_control.db')}\nlistener:\n  host: 127.0.0.1\n  port: ${port}\n`,
    );
    await mkdir(data, { recursive: true });
    const aws = awsToolEnvironment(endpointUrl);
    const server = spawnProducer({
      command: doltBinary(),
      args: ['sql-server', '--config', config],
      env: { ...aws.env, DOLT_ROOT_PATH: scratch.home },
      secrets: aws.secrets,
      cwd: data,
      description: 'a scratch Dolt sql-server',
    });
    return await scratchServerOf(
      server,
      scratch,
      { port, what: 'the scratch Dolt sql-server', hint: 'install Dolt or set SAFEKEEP_DOLT_BIN' },
      async () => {
        const root: DatabaseEndpoint = {
          engine: 'dolt',
          host: '127.0.0.1',
          port,
          user: 'root',
          password: '',
          databases: [],
          tls: { mode: 'disable' },
        };
        const version = await whenReady(() =>
          withMysql(root, undefined, async (db) => {
            await db.query("ALTER USER 'root'@'localhost' IDENTIFIED BY ?", [password]);
            const [[row]] = (await db.query('SELECT dolt_version() AS version')) as unknown as [[{ version: string }]];
            return row.version;
          }),
        );
        return { endpoint: { ...root, password }, engine: 'Dolt', serverVersion: version };
      },
    );
  } catch (error) {
    await scratch.dispose();
    throw error;
  }
}
