import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Unit tests run against the TypeScript sources (no build needed), with the same
// aliases as tsconfig.base.json `paths`.
export default defineConfig({
  resolve: {
    alias: {
      '@tabbus/core': fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)),
      '@tabbus/odoo': fileURLToPath(new URL('./packages/odoo/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['packages/*/src/**/__tests__/**/*.test.ts'],
    environment: 'node',
    testTimeout: 10_000,
  },
});
