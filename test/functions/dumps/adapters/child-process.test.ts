import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { redact, runTool, spawnProducer } from '#functions/dumps/adapters/child-process.ts';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

describe('spawnProducer', () => {
  it('keeps all output of a tool that exits before anyone reads it', async () => {
    // Node resumes unread stdio of an exited child, discarding it; the producer must not lose those bytes.
    const producer = spawnProducer({ command: 'sh', args: ['-c', 'printf "every byte"'], description: 'printf' });
    await producer.exited;
    await sleep(50);
    expect(await readAll(producer.stdout)).toBe('every byte');
  });

  it('refuses to put a secret on the command line', () => {
    expect(() =>
      spawnProducer({ command: 'echo', args: ['--password=hunter22'], description: 'echo', secrets: ['hunter22'] }),
    ).toThrow(/a secret would appear in its command line/);
  });

  it.each([
    ['--password=hunter22'],
    ['hunter22'],
    ["--dbname=host=db password='hunter22'"],
    ['--url=postgresql://app:hunter22@db/x'],
  ])('refuses every way a secret can be a value on the command line: %s', (arg) => {
    expect(() => spawnProducer({ command: 'echo', args: [arg], description: 'echo', secrets: ['hunter22'] })).toThrow(
      /a secret would appear in its command line/,
    );
  });

  it.each(['custom', 'password', 'no', 'compress', '0'])(
    'starts pg_dump when the password "%s" only occurs inside its own fixed options',
    async (password) => {
      // Prepare: pg_dump's real arguments; echo stands in for it
      const args = ['--format=custom', '--compress=0', '--no-password', '--dbname=dbname=metadb'];

      // Act
      const { stdout, exit } = await runTool({ command: 'echo', args, secrets: [password], description: 'pg_dump' });

      // Assess
      expect(exit.code).toBe(0);
      expect(stdout.trim()).toBe(args.join(' '));
    },
  );

  it('passes secrets through the environment and redacts them from stderr', async () => {
    const { stdout, exit } = await runTool({
      command: 'sh',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
      args: ['-c', 'printf "%s" "${#SECRET}"; echo "login failed for $SECRET" >&2; exit 3'],
      env: { SECRET: 'hunter22' },
      secrets: ['hunter22'],
      description: 'sh',
    });
    expect(stdout).toBe('8');
    expect(exit).toMatchObject({ code: 3, stderrTail: 'login failed for ***' });
  });

  it('stops a tool that runs past its timeout, with everything it started', async () => {
    const started = Date.now();
    const producer = spawnProducer({
      command: 'sh',
      args: ['-c', 'printf started; sleep 30 | cat'],
      description: 'hang',
      timeoutMs: 300,
    });
    const text = await readAll(producer.stdout);
    const exit = await producer.exited;
    expect(text).toBe('started');
    expect(exit).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('says when it was stopped on request', async () => {
    const producer = spawnProducer({ command: 'sleep', args: ['30'], description: 'sleep' });
    producer.kill();
    expect(await producer.exited).toMatchObject({ stoppedByUs: true, timedOut: false, signal: 'SIGTERM' });
  });

  it('reports a missing tool as exit 127 with its name', async () => {
    const { exit } = await runTool({ command: 'no-such-tool-safekeep', args: [], description: 'missing' });
    expect(exit).toMatchObject({ code: 127, stderrTail: 'no-such-tool-safekeep is not installed or not on PATH' });
  });

  it('hands the tool a minimal environment, without our AWS credentials', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    const { stdout } = await runTool({ command: 'sh', args: ['-c', 'env'], description: 'env' });
    expect(stdout).not.toMatch(/AWS_/);
  });
});

describe('redact', () => {
  it.each([
    ['x', 'login failed for x', 'login failed for ***'],
    ['ab', 'user ab: password ab rejected', 'user ***: password *** rejected'],
  ])('redacts a secret of any length (%s)', (secret, text, redacted) => {
    expect(redact(text, [secret])).toBe(redacted);
  });

  it('redacts the longer of two overlapping secrets whole', () => {
    expect(redact('key=abcdef', ['abc', 'abcdef'])).toBe('key=***');
  });

  it('replaces every occurrence of every secret', () => {
    expect(redact('a=s3cr3t b=s3cr3t c=other', ['s3cr3t', 'other'])).toBe('a=*** b=*** c=***');
  });
});
