// Run by scripts/check-consumer.mjs inside a scratch project that npm-installed the packed tarballs: every
// entry point loads through Node's ESM resolution (the `import` conditions) and has what its users call.
import * as core from '@tabbus/core';
import * as testing from '@tabbus/core/testing';
import * as effects from '@tabbus/core/effects';
import * as odoo from '@tabbus/odoo';
import * as jobs from '@tabbus/odoo/jobs';
import * as devServer from '@tabbus/dev-server';

const expected = {
  '@tabbus/core': [core, ['createBus', 'TabBus', 'TabBusError', 'isSessionExpired', 'createBackoff', 'browserEnv', 'lockElection', 'messageElection', 'storageChannel']],
  '@tabbus/core/testing': [testing, ['FakeBrowser', 'FakeServer', 'FakeTransport', 'VirtualClock', 'settle']],
  '@tabbus/core/effects': [effects, ['createEffects', 'createSound', 'requestDesktopPermission']],
  '@tabbus/odoo': [odoo, ['createOdooBus', 'LongpollingTransport', 'WebsocketTransport', 'TabBusError', 'isSessionExpired']],
  '@tabbus/odoo/jobs': [jobs, ['watchJobs']],
  '@tabbus/dev-server': [devServer, ['createDevServer']],
};
const missing = [];
for (const [specifier, [module, names]] of Object.entries(expected)) {
  for (const name of names) if (typeof module[name] !== 'function') missing.push(`${specifier}: ${name}`);
  if ('default' in module) missing.push(`${specifier}: a stray default export`);
}
// One class, whichever entry it came through: @tabbus/odoo re-exports the core's error, it does not copy it.
if (odoo.TabBusError !== core.TabBusError) missing.push('@tabbus/odoo TabBusError is not @tabbus/core TabBusError');
// The dev server starts from the installed package, as `npx tabbus-dev-server` users get it.
const server = await devServer.createDevServer({ port: 0 });
const stats = await (await fetch(`${server.url}/tabbus/stats`)).json();
await server.close();
if (stats.odoo !== 15) missing.push(`dev server stats: odoo ${stats.odoo}`);
if (missing.length) {
  console.error(missing.join('\n'));
  process.exit(1);
}
console.log('node ESM: every entry point imports');
