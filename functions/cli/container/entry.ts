/**
 * The Fargate task's entry point (bundled by ./bundle.ts): the `safekeep` CLI. The task definition's
 * command is e.g. `dump --engine postgres --source postgres://db.internal:5432/metadb --to s3://bucket/target`;
 * ECS injects SAFEKEEP_DB_USER and SAFEKEEP_DB_PASSWORD from Secrets Manager, never in the command.
 */
import { main } from '../main.ts';

process.exitCode = await main(process.argv.slice(2));
