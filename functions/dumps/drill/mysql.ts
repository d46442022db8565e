import type { EngineDrill } from './engine-drill.ts';
export const mysqlDrill: EngineDrill = { start: () => Promise.reject(new Error('todo')), restoreAndCompare: async () => {} };
