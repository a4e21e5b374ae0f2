import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Unit tests run against the TypeScript sources (no build needed), with the same
// aliases as tsconfig.base.json `paths`.
export default defineConfig({
  resolve: {
    // Exact matches: a bare '@tabbus/core' key would also rewrite '@tabbus/core/testing' as a prefix.
    alias: [
      { find: /^@tabbus\/core$/, replacement: fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)) },
      { find: /^@tabbus\/core\/testing$/, replacement: fileURLToPath(new URL('./packages/core/src/testing/index.ts', import.meta.url)) },
      { find: /^@tabbus\/core\/effects$/, replacement: fileURLToPath(new URL('./packages/core/src/effects/index.ts', import.meta.url)) },
      { find: /^@tabbus\/odoo$/, replacement: fileURLToPath(new URL('./packages/odoo/src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['packages/*/src/**/__tests__/**/*.test.ts', 'e2e/real-odoo/__tests__/*.test.ts'],
    environment: 'node',
    testTimeout: 10_000,
  },
});
