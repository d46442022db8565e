/** Which scratch server a drill starts, decided without starting one. */
import { describe, expect, it } from 'vitest';
import { scratchFlavor } from '#functions/dumps/engines/mysql/scratch-mysql.ts';
import { pgServerBin } from '#functions/dumps/engines/postgres/scratch-postgres.ts';

describe('the scratch server a drill starts', () => {
  it('drills MariaDB on MariaDB and MySQL on MySQL, and says which stood in when the other is all there is', () => {
    expect(scratchFlavor('10.11.14-MariaDB-0+deb12u2', { PATH: '' })).toEqual({ flavor: 'mariadb' });
    expect(scratchFlavor('9.7.4', { SAFEKEEP_MYSQLD: '/usr/sbin/mysqld' })).toEqual({ flavor: 'mysql' });
    expect(scratchFlavor('9.7.4', { PATH: '' })).toEqual({
      flavor: 'mariadb',
      note: 'MariaDB stood in for MySQL 9.7.4 (no mysqld here; set SAFEKEEP_MYSQLD to drill on MySQL itself)',
    });
    expect(scratchFlavor('11.4.2-MariaDB', { PATH: '', SAFEKEEP_MYSQLD: '/usr/sbin/mysqld' })).toEqual({
      flavor: 'mysql',
      note: 'MySQL stood in for MariaDB 11.4.2-MariaDB (no mariadbd here; install the MariaDB server to drill on MariaDB itself)',
    });
  });

  it('takes the PostgreSQL server from SAFEKEEP_PG_SERVER_BIN, or from SAFEKEEP_PG_BIN only when that holds one', () => {
    expect(pgServerBin({ SAFEKEEP_PG_SERVER_BIN: '/opt/pg18/bin' })).toBe('/opt/pg18/bin');
    // A directory of client tools only (no initdb) is passed over for an installed server.
    const chosen = (() => {
      try {
        return pgServerBin({ SAFEKEEP_PG_BIN: '/nonexistent/bin' });
      } catch (error) {
        expect((error as Error).message).toMatch(
          /install the postgresql package of the newest major or set SAFEKEEP_PG_SERVER_BIN/,
        );
        return undefined;
      }
    })();
    expect(chosen).not.toBe('/nonexistent/bin');
  });
});
