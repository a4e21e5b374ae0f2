import { defineConfig } from '@playwright/test';
import base from '../playwright.config';

/**
 * Measurements too heavy or too long for `pnpm test` (`pnpm measure:stream`, `pnpm measure:locks`, `pnpm measure:audio`): they
 * report, they assert nothing about time. Odoo 15 long-polling on the dev server, like the chaos test they explain.
 */
export default defineConfig<object, { odoo: number; pg: boolean }>({ ...base, testDir: '.', outputDir: '../test-results/measure', projects: [{ name: 'longpolling-15', use: { odoo: 15 } }] });
