import { describe, expect, it } from 'vitest';
import type { DoltgresInventory } from '#functions/contracts/manifest.ts';
import {
  backupDropsRootObjects,
  createSequence,
  inventoryDifferences,
  uncarriable,
} from '#functions/dumps/engines/dolt/doltgres-inventory.ts';

const sequence = {
  name: 'public.orders_seq',
  dataType: 'bigint',
  start: '100',
  increment: '1',
  minimum: '1',
  maximum: '9223372036854775807',
  cycle: false,
  next: '103',
};
const main: DoltgresInventory = {
  branch: 'main',
  tables: ['public.orders'],
  views: [{ name: 'public.v', definition: 'SELECT id FROM orders' }],
  sequences: [sequence],
  types: [{ name: 'public.mood', kind: 'e' }],
  functions: ['public.bump(int4)'],
  triggers: ['public.orders.audit'],
};

describe('the Doltgres object inventory', () => {
  it('names every object a restored branch lacks or holds differently, one line each', () => {
    const restored: DoltgresInventory = {
      ...main,
      views: [],
      sequences: [{ ...sequence, next: '100' }],
      types: [],
      functions: [],
    };

    expect(inventoryDifferences(main, restored, [])).toEqual([
      'type public.mood is missing on branch main',
      'function public.bump(int4) is missing on branch main',
      'view public.v is missing on branch main',
      'sequence public.orders_seq would return 100 next, not 103, on branch main',
    ]);
    expect(inventoryDifferences(main, main, [])).toEqual([]);
  });

  it('leaves out what the manifest records as missing', () => {
    const restored: DoltgresInventory = { ...main, types: [], functions: [], triggers: [] };

    expect(inventoryDifferences(main, restored, uncarriable([main]))).toEqual([]);
  });

  it('cannot carry types and functions, nor an exhausted sequence', () => {
    const missing = uncarriable([{ ...main, sequences: [{ ...sequence, next: null }] }]);

    expect(missing.map((m) => `${m.kind} ${m.name}`)).toEqual([
      'sequence public.orders_seq',
      'type (e) public.mood',
      'function public.bump(int4)',
      'trigger public.orders.audit',
    ]);
  });

  it('recreates a sequence so that nextval returns the recorded next value', () => {
    expect(createSequence({ ...sequence, cycle: true })).toBe(
      'CREATE SEQUENCE "public"."orders_seq" AS bigint INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 103 CYCLE',
    );
    expect(() => createSequence({ ...sequence, increment: '1; DROP TABLE x' })).toThrow(/not an integer/);
  });

  it('knows which Doltgres releases drop sequences, types and functions in dolt_backup', () => {
    expect(backupDropsRootObjects('0.56.3')).toBe(true);
    expect(backupDropsRootObjects('0.50.0')).toBe(true);
    expect(backupDropsRootObjects('0.56.4')).toBe(false);
    expect(backupDropsRootObjects('unknown')).toBe(true);
  });
});
