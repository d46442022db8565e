/**
 * What a snapshot restore drill needs from AWS and from a database, beyond the snapshot ports (ports.ts):
 * the source's network and engine, the temporary resources' state and endpoint, their deletion, and one SQL
 * statement run against the restore. Adapters: ../adapters/{rds-drill,ec2-drill,sql-runner}.ts.
 */

/** What a drill copies from the source instance or cluster: where it lives and what it runs. */
export interface DrillSource {
  readonly engine: string;
  readonly masterUsername?: string;
  /** The database the instance or cluster was created with (DBName / DatabaseName), if any. */
  readonly databaseName?: string;
  readonly subnetGroup?: string;
  readonly securityGroupIds: readonly string[];
}

/** A temporary RDS instance or cluster as the drill sees it. */
export interface DrillDatabase {
  /** `creating`, `available`, `deleting`, `incompatible-restore`, ... */
  readonly status: string;
  readonly endpoint?: { readonly host: string; readonly port: number };
  /** A cluster's member instances (a cluster is deleted only once they are gone). */
  readonly members: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

export interface DrillRdsPort {
  source(kind: 'rds-instance' | 'rds-cluster', id: string): Promise<DrillSource | undefined>;
  describe(kind: 'rds-instance' | 'rds-cluster', id: string): Promise<DrillDatabase | undefined>;
  /** Deletes without a final snapshot and without keeping automated backups: nothing of the drill stays. */
  delete(kind: 'rds-instance' | 'rds-cluster', id: string): Promise<void>;
  /** Sets a new master password (ApplyImmediately), so the check needs no secret of the source. */
  resetMasterPassword(kind: 'rds-instance' | 'rds-cluster', id: string, password: string): Promise<void>;
}

export interface DrillVolume {
  readonly id: string;
  /** `creating`, `available`, `deleting`, `error`, ... */
  readonly state: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface DrillEc2Port {
  /** The availability zone of a (source) volume, when it still exists. */
  volumeZone(volumeId: string): Promise<string | undefined>;
  /** Every volume whose tag `key` is `value`. */
  volumesTagged(key: string, value: string): Promise<DrillVolume[]>;
  deleteVolume(volumeId: string): Promise<void>;
}

/** A connection to the restored database; the password never leaves the step that set it. */
export interface SqlConnection {
  readonly engine: 'postgres' | 'mysql';
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database?: string;
}

export type SqlOutcome =
  | { readonly ok: true; readonly rows: number }
  /** `connect`: not reachable or not accepting the login (yet); `statement`: the SQL itself failed. */
  | { readonly ok: false; readonly stage: 'connect' | 'statement'; readonly message: string };

export interface SqlRunner {
  run(connection: SqlConnection, sql: string): Promise<SqlOutcome>;
}

export interface DrillPorts {
  rds(region: string): DrillRdsPort;
  ec2(region: string): DrillEc2Port;
  readonly sql: SqlRunner;
}
