/**
 * Someone else's CDK app: its own VPC, security group, secret, database and key, and Safekeep composed from
 * the installed package with those references. The construct-library test copies it into a fresh app
 * directory (it is not compiled with the repository: `safekeep` resolves only there) and runs it with Node.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { addComplianceChecks, Safekeep, type SafekeepProps } from 'safekeep';

const account = '123456789012';
const app = new App({ outdir: process.argv[2], context: JSON.parse(process.env.CDK_CONTEXT_JSON ?? '{}') });

const keys = new Stack(app, 'CopyKeys', { env: { account, region: 'us-west-2' }, crossRegionReferences: true });
const copyKey = new kms.Key(keys, 'CopyKey', { enableKeyRotation: true, description: 'snapshot copies in us-west-2' });

const stack = new Stack(app, 'Shop', { env: { account, region: 'eu-west-1' }, crossRegionReferences: true });
const vpc = new ec2.Vpc(stack, 'Vpc', {
  maxAzs: 2,
  natGateways: 0,
  subnetConfiguration: [{ name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.ALL } },
});
Validations.of(vpc).acknowledge(
  ...['IAMNoInlinePolicy', 'CloudWatchLogGroupEncrypted'].flatMap((rule) =>
    ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321'].map((pack) => ({
      id: `${pack}-${rule}`,
      reason: "the test app's flow logs keep CDK's defaults: it is never deployed",
    })),
  ),
);
const dumpAccess = new ec2.SecurityGroup(stack, 'DumpAccess', {
  vpc,
  allowAllOutbound: false,
  description: 'dumps reach the database',
});
const secretKey = new kms.Key(stack, 'SecretKey', { enableKeyRotation: true });
const secret = new secretsmanager.Secret(stack, 'CatalogSecret', { encryptionKey: secretKey });
// The app's own resources are the app's to hold to its rules; this one says why it differs.
Validations.of(secret).acknowledge(
  ...[
    'AwsSolutions-SMG4',
    'NIST.800.53.R5-SecretsManagerRotationEnabled',
    'HIPAA.Security-SecretsManagerRotationEnabled',
    'PCI.DSS.321-SecretsManagerRotationEnabled',
  ].map((id) => ({ id, reason: 'the test app rotates nothing: it is never deployed' })),
);
const orders = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Orders', {
  instanceIdentifier: 'orders',
  instanceEndpointAddress: 'orders.abc123.eu-west-1.rds.amazonaws.com',
  port: 5432,
  securityGroups: [],
});

const network = { vpc, subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroups: [dumpAccess] };
const props: SafekeepProps = {
  defaults: { schedule: { expression: 'cron(0 3 * * ? *)' }, retention: { keepLast: 7 } },
  targets: [
    { name: 'orders', kind: 'rds-instance', source: { instance: orders }, copy: { key: copyKey } },
    { name: 'catalog', kind: 'postgres', source: { host: 'catalog.internal', secret }, network },
    { name: 'sessions', kind: 'mysql', runner: 'lambda', source: { host: 'sessions.internal', secret }, network },
  ],
};
new Safekeep(stack, 'Backups', props);
addComplianceChecks(app);
app.synth();
