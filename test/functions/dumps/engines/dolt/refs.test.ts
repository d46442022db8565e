import { describe, expect, it } from 'vitest';
import { IntegrityError } from '#functions/contracts/errors.ts';
import { permissionNames, sqlLiteral } from '#functions/dumps/engines/dolt/doltgres-engine.ts';
import { assertRefsMatch, type DoltRefs, refsDifferences } from '#functions/dumps/engines/dolt/refs.ts';

const RECORDED: DoltRefs = {
  branches: [
    { name: 'main', hash: 'aaa' },
    { name: 'wip', hash: 'bbb' },
  ],
  tags: [{ name: 'v1', hash: 'aaa' }],
  dirtyBranches: ['wip'],
};

describe('refsDifferences', () => {
  it('finds nothing when the refs are the same', () => {
    expect(refsDifferences(RECORDED, structuredClone(RECORDED))).toEqual([]);
  });

  it('names every moved, missing and extra ref, and lost or new uncommitted changes', () => {
    const actual: DoltRefs = {
      branches: [
        { name: 'main', hash: 'ccc' },
        { name: 'extra', hash: 'ddd' },
      ],
      tags: [],
      dirtyBranches: ['main'],
    };
    expect(refsDifferences(RECORDED, actual)).toEqual([
      'branch main is at ccc, the manifest recorded aaa',
      'branch wip is missing',
      'branch extra is not in the manifest',
      'tag v1 is missing',
      'branch wip lost its uncommitted changes',
      'branch main has uncommitted changes the manifest does not record',
    ]);
  });

  it('fails with an IntegrityError naming what was compared', () => {
    const moved = { ...RECORDED, tags: [{ name: 'v1', hash: 'zzz' }] };
    expect(() => assertRefsMatch(RECORDED, moved, 'the restored database "x"')).toThrow(IntegrityError);
    expect(() => assertRefsMatch(RECORDED, moved, 'the restored database "x"')).toThrow(
      'the restored database "x" does not match the manifest: tag v1 is at zzz, the manifest recorded aaa',
    );
  });
});

describe('Doltgres branch-control literals', () => {
  it('turns the permission bit set Doltgres shows into the names it accepts', () => {
    expect(permissionNames('1')).toBe('admin');
    expect(permissionNames('12')).toBe('merge,read');
    expect(permissionNames('write')).toBe('write');
  });

  it('keeps every literal on one line', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral('a\nb\\c')).toBe("E'a\\nb\\\\c'");
  });
});
