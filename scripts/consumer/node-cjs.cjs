// Run by scripts/check-consumer.mjs inside the scratch project: the CommonJS builds load through require()
// (the `require` conditions), one copy of each class.
const core = require('@tabbus/core');
const testing = require('@tabbus/core/testing');
const effects = require('@tabbus/core/effects');
const odoo = require('@tabbus/odoo');
const jobs = require('@tabbus/odoo/jobs');

const missing = [];
const expect = (specifier, module, names) => {
  for (const name of names) if (typeof module[name] !== 'function') missing.push(`${specifier}: ${name}`);
};
expect('@tabbus/core', core, ['createBus', 'TabBus', 'TabBusError', 'isSessionExpired', 'createBackoff', 'browserEnv']);
expect('@tabbus/core/testing', testing, ['FakeBrowser', 'FakeServer', 'VirtualClock']);
expect('@tabbus/core/effects', effects, ['createEffects', 'createSound', 'requestDesktopPermission']);
expect('@tabbus/odoo', odoo, ['createOdooBus', 'LongpollingTransport', 'WebsocketTransport', 'TabBusError']);
expect('@tabbus/odoo/jobs', jobs, ['watchJobs']);
if (odoo.TabBusError !== core.TabBusError) missing.push('@tabbus/odoo TabBusError is not @tabbus/core TabBusError');
for (const specifier of ['@tabbus/core', '@tabbus/odoo']) {
  if (!require.resolve(specifier).endsWith('.cjs')) missing.push(`${specifier} resolves to ${require.resolve(specifier)}`);
}
if (missing.length) {
  console.error(missing.join('\n'));
  process.exit(1);
}
console.log('node CJS: every entry point requires');
