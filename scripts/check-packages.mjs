#!/usr/bin/env node
// After `pnpm build`: every published entry point loads the way its users load it, and exposes the
// names other code relies on (ESM and CJS in Node, the script-tag global, the browser ESM bundle).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url);
const failures = [];
const check = (what, ok, detail = '') => {
  console.log(`${ok ? '✓' : '✗'} ${what}${detail ? ` (${detail})` : ''}`);
  if (!ok) failures.push(what);
};
const require = createRequire(new URL('packages/odoo/package.json', root));

for (const [pkg, names] of [
  ['@tabbus/core', ['createBus', 'TabBus', 'TabBusError', 'createBackoff', 'lockElection', 'electorElection', 'browserEnv']],
  ['@tabbus/odoo', ['createOdooBus', 'LongpollingTransport', 'TabBusError', 'isSessionExpired']],
]) {
  const esm = await import(pathToFileURL(require.resolve(pkg)).href.replace(/index\.cjs$/, 'index.mjs'));
  const cjs = require(pkg);
  for (const name of names) {
    check(`${pkg} ESM exports ${name}`, typeof esm[name] === 'function');
    check(`${pkg} CJS exports ${name}`, typeof cjs[name] === 'function');
  }
  check(`${pkg} ESM has no stray default export`, !('default' in esm));
}

// The script tag: evaluate the IIFE in a bare context and look for the global.
const globalBuild = readFileSync(new URL('packages/odoo/dist/tabbus.global.min.js', root), 'utf8');
const sandbox = {};
sandbox.window = sandbox;
runInNewContext(globalBuild, sandbox);
check('tabbus.global.min.js defines TabBus.createOdooBus', typeof sandbox.TabBus?.createOdooBus === 'function');
check('tabbus.global.min.js defines TabBus.TabBusError', typeof sandbox.TabBus?.TabBusError === 'function');

const browserEsm = await import(new URL('packages/odoo/dist/tabbus.browser.min.mjs', root).href);
check('tabbus.browser.min.mjs exports createOdooBus', typeof browserEsm.createOdooBus === 'function');

if (failures.length) {
  console.error(`${failures.length} packaging check(s) failed`);
  process.exit(1);
}
