// The dev server is ESM only: type-checked as dev-server.mts (node16, ESM) and dev-server.ts (bundler).
import { createDevServer, type DevServer, type DevServerStats } from '@tabbus/dev-server';

const server: DevServer = await createDevServer({ port: 0, odoo: 17 });
const stats: DevServerStats = server.stats();
void stats;
await server.close();
export {};
