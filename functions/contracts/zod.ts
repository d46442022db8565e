/**
 * zod/mini, the functional API that tree-shakes (classic zod puts 100 KB in every bundle), with English
 * messages: unlike classic zod it loads no locale, so every message would read "Invalid input". Import zod
 * from here (`import * as z from './zod.ts'`), never from 'zod/mini' itself.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

export * from 'zod/mini';
