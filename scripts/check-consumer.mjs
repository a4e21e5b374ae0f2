#!/usr/bin/env node
// The packages as a new user meets them: npm-install the packed tarballs (scripts/pack.mjs) into a scratch
// project, then there
//   1. Node: import every entry point (ESM) and require the CommonJS ones;
//   2. TypeScript: tsc --noEmit under moduleResolution node16 (an .mts and a .cts file) and bundler, with the
//      packages' declarations checked too;
//   3. a browser: a tiny page bundled with rollup from the installed packages, served by the installed dev
//      server, gets a notification in Chromium.
// The fixtures are in scripts/consumer/. The scratch project is deleted unless KEEP_CONSUMER=1.
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packedTarballs, root } from './pack.mjs';

const fixtures = join(root, 'scripts/consumer');
const scratch = mkdtempSync(join(tmpdir(), 'tabbus-consumer-'));
const workspace = createRequire(join(root, 'package.json'));
const failures = [];
const startedAt = Date.now();
const step = async (what, fn) => {
  const started = Date.now();
  try {
    await fn();
    console.log(`✓ ${what} (${Date.now() - started} ms)`);
  } catch (error) {
    failures.push(what);
    console.error(`✗ ${what}\n${String(error.stdout ?? '')}${String(error.stderr ?? '')}${error.stdout === undefined ? (error.stack ?? error) : ''}`);
  }
};
const run = (command, args) => execFileSync(command, args, { cwd: scratch, encoding: 'utf8', stdio: 'pipe' });
const runAsync = (command, args) => promisify(execFile)(command, args, { cwd: scratch, encoding: 'utf8' });

try {
  await step('npm install of the packed tarballs', () => {
    // No "type": the scratch project is CommonJS by default, like most projects that never opted in; each
    // file says what it is by its extension.
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'tabbus-consumer', private: true, version: '0.0.0' }, null, 2));
    const tarballs = packedTarballs().map(({ tarball }) => tarball);
    run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline', '--loglevel=error', ...tarballs]);
  });
  cpSync(fixtures, scratch, { recursive: true });

  await step('Node ESM: import of every entry point (and the dev server starts)', () => run(process.execPath, ['node-esm.mjs']));
  await step('Node CJS: require of every CommonJS entry point', () => run(process.execPath, ['node-cjs.cjs']));

  // The same usage file under each resolution a TypeScript user may have.
  const tsc = join(dirname(workspace.resolve('typescript/package.json')), 'bin/tsc');
  // skipLibCheck off: our declarations are checked as a strict user's compiler reads them; TypeScript's own
  // lib files (the DOM is most of the time spent) are not ours to check.
  const base = { strict: true, noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true, target: 'es2022', lib: ['es2022', 'dom'], types: [] };
  cpSync(join(scratch, 'types/usage.ts'), join(scratch, 'types/usage.mts'));
  cpSync(join(scratch, 'types/usage.ts'), join(scratch, 'types/usage.cts'));
  cpSync(join(scratch, 'types/dev-server.ts'), join(scratch, 'types/dev-server.mts'));
  // Three programs, side by side: each spends most of its time loading the DOM lib, and none waits on another.
  const modes = [
    ['node16, ESM (.mts)', { module: 'node16', moduleResolution: 'node16' }, ['types/usage.mts', 'types/dev-server.mts']],
    ['node16, CommonJS (.cts)', { module: 'node16', moduleResolution: 'node16' }, ['types/usage.cts']],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler' }, ['types/usage.ts', 'types/dev-server.ts']],
  ];
  await Promise.all(
    modes.map(([name, options, files]) => {
      const config = `tsconfig.${name.replace(/\W+/g, '-')}.json`;
      writeFileSync(join(scratch, config), JSON.stringify({ compilerOptions: { ...base, ...options }, files }, null, 2));
      return step(`tsc --noEmit, moduleResolution ${name}`, () => runAsync(process.execPath, [tsc, '-p', config]));
    }),
  );

  await step('a page bundled with rollup from the installed packages gets a notification in Chromium', async () => {
    const { rollup } = await import(pathToFileURL(workspace.resolve('rollup')).href);
    const { default: nodeResolve } = await import(pathToFileURL(workspace.resolve('@rollup/plugin-node-resolve')).href);
    const bundle = await rollup({ input: join(scratch, 'page/main.js'), plugins: [nodeResolve({ browser: true })] });
    await bundle.write({ file: join(scratch, 'page/bundle.js'), format: 'es' });
    await bundle.close();
    // The dev server from the installed tarball, serving the page.
    const { createDevServer } = await import(pathToFileURL(join(scratch, 'node_modules/@tabbus/dev-server/dist/index.mjs')).href);
    const server = await createDevServer({ port: 0, staticRoots: { '/': join(scratch, 'page') } });
    // @playwright/test is CommonJS whose exports Node cannot list statically: take them from the default.
    const { chromium } = (await import(pathToFileURL(workspace.resolve('@playwright/test')).href)).default;
    // The browser the e2e suite uses: CHROMIUM_PATH, else the system Chromium, else Playwright's own.
    const executablePath = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
    const browser = await chromium.launch({ ...(executablePath ? { executablePath } : {}), args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const problems = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      await page.goto(`${server.url}/index.html`);
      await page.waitForSelector('body[data-role="solo"][data-transport="open"], body[data-role="leader"][data-transport="open"]', { state: 'attached', timeout: 10_000 });
      const text = `hello from a bundled consumer ${Date.now()}`;
      const response = await fetch(`${server.url}/tabbus/send`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ channel: 'consumer', type: 'demo/message', payload: { text } }) });
      if (!response.ok) throw new Error(`/tabbus/send: HTTP ${response.status}`);
      await page.waitForFunction((expected) => [...document.querySelectorAll('#log li')].some((li) => li.textContent === expected), text, { timeout: 10_000 });
      if (problems.length) throw new Error(`the page logged errors:\n${problems.join('\n')}`);
    } finally {
      await browser.close();
      await server.close();
    }
  });
} finally {
  if (process.env.KEEP_CONSUMER === '1') console.log(`scratch project kept in ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}
console.log(`consumer test: ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
if (failures.length) {
  console.error(`${failures.length} consumer check(s) failed`);
  process.exit(1);
}
