import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CopyRowCounter } from '#functions/dumps/engines/postgres/copy-row-counter.ts';

const SQL = [
  'SET statement_timeout = 0;',
  'COPY public.orders (id, note) FROM stdin;',
  '1\thello',
  '2\t\\N',
  '3\tline\\nbreak',
  '\\.',
  '',
  'COPY "Odd Schema"."Mixed ""T""" ("a b") FROM stdin;',
  '\\\\.', // data that looks like the terminator but is an escaped backslash and a dot
  '\\.',
  'COPY public.empty (id) FROM stdin;',
  '\\.',
  'CREATE INDEX x ON public.orders (id);',
].join('\n');

describe('CopyRowCounter', () => {
  it('counts the rows of every COPY block', () => {
    const counter = new CopyRowCounter();
    counter.push(Buffer.from(`${SQL}\n`));
    expect(counter.result()).toEqual({ 'public.orders': 3, '"Odd Schema"."Mixed ""T"""': 1, 'public.empty': 0 });
  });

  it('gives the same counts however the stream is split into chunks', () => {
    const whole = Buffer.from(`${SQL}\n`);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 20 }), (cuts) => {
        const counter = new CopyRowCounter();
        let start = 0;
        for (const cut of [...cuts].sort((a, b) => a - b)) {
          counter.push(whole.subarray(start, cut));
          start = cut;
        }
        counter.push(whole.subarray(start));
        expect(counter.result()).toEqual({ 'public.orders': 3, '"Odd Schema"."Mixed ""T"""': 1, 'public.empty': 0 });
      }),
    );
  });

  it('keeps constant memory for rows of any length', () => {
    const counter = new CopyRowCounter();
    counter.push(Buffer.from('COPY public.big (t) FROM stdin;\n'));
    for (let i = 0; i < 3; i++) counter.push(Buffer.from(`${'x'.repeat(5_000_000)}\n`));
    counter.push(Buffer.from('\\.\n'));
    expect(counter.result()).toEqual({ 'public.big': 3 });
  });
});
