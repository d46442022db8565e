/**
 * Runs before every test file: no test may reach real AWS or anything else off this machine.
 * The SDK's default credential and endpoint chains point at the local peers, and any socket to a
 * non-loopback address fails loudly.
 */
import net from 'node:net';

process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${process.env.SAFEKEEP_MOTO_PORT ?? 55000}`;
process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${process.env.SAFEKEEP_S3_PORT ?? 57070}`;
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', undefined, '']);
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const [first, second] = args;
  const options = typeof first === 'object' && first !== null ? (first as net.NetConnectOpts) : undefined;
  const host = options ? ('host' in options ? options.host : undefined) : typeof second === 'string' ? second : undefined;
  const isUnixSocket = options !== undefined && 'path' in options && options.path !== undefined;
  if (!isUnixSocket && !LOOPBACK.has(host ?? undefined)) {
    throw new Error(`test tried to connect to ${host}: tests may only talk to the local peers on 127.0.0.1`);
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
