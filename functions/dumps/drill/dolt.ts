import type { EngineDrill } from './engine-drill.ts';
export const doltDrill: EngineDrill = { start: () => Promise.reject(new Error('todo')), restoreAndCompare: async () => {} };
export const doltgresDrill = doltDrill;
