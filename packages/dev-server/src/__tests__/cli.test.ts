// The CLI as shipped: dist/cli.mjs, rebuilt first when any source file is newer than it
// (unit tests run before the workspace build, so dist may be missing or stale).
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rpcOnNewConnection } from './helpers';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(packageDir, 'dist/cli.mjs');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '__tests__') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

beforeAll(() => {
  if (existsSync(cli) && statSync(cli).mtimeMs >= newestSource(join(packageDir, 'src'))) return;
  const rollup = createRequire(join(packageDir, '../../package.json')).resolve('rollup/dist/bin/rollup');
  execFileSync(process.execPath, [rollup, '-c', '../../scripts/rollup.config.mjs'], { cwd: packageDir, stdio: 'pipe' });
}, 60_000);

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [cli, ...args], { cwd: packageDir });
  children.push(child);
  return child;
}

function output(child: ChildProcessWithoutNullStreams): { stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { stdout: () => stdout, stderr: () => stderr, exit };
}

/** Resolves with the URL once the listening line is out. */
async function listening(child: ChildProcessWithoutNullStreams, out: ReturnType<typeof output>): Promise<string> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const match = /^listening on (http:\/\/127\.0\.0\.1:(\d+))\n$/.exec(out.stdout());
    if (match && match[2] !== '0') return match[1]!;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no listening line: ${out.stdout()} ${out.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('tabbus-dev-server CLI', () => {
  it('prints exactly the listening line with the real port, serves, and on SIGTERM answers held polls with [] and exits 0', async () => {
    const child = run(['--port', '0', '--odoo', '14', '--db', 'clidb']);
    const out = output(child);
    const url = await listening(child, out);
    const stats = (await (await fetch(`${url}/tabbus/stats`)).json()) as { odoo: number; db: string };
    expect(stats).toMatchObject({ odoo: 14, db: 'clidb' });

    const poll = fetch(`${url}/longpolling/poll`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { channels: ['c'], last: 0 }, id: 1 }),
    }).then((response) => response.json());
    const deadline = Date.now() + 2_000;
    while (((await (await fetch(`${url}/tabbus/stats`)).json()) as { openPolls: number }).openPolls !== 1) {
      if (Date.now() > deadline) throw new Error('the poll was never held');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGTERM');
    expect(await poll).toEqual({ jsonrpc: '2.0', id: 1, result: [] });
    expect(await out.exit).toBe(0);
  });

  it('--no-dev turns the /tabbus/* routes off', async () => {
    const child = run(['--port', '0', '--no-dev']);
    const out = output(child);
    const url = await listening(child, out);
    expect((await fetch(`${url}/tabbus/stats`)).status).toBe(404);
    expect((await fetch(`${url}/longpolling/health`)).status).toBe(200);
    child.kill('SIGINT');
    expect(await out.exit).toBe(0);
  });

  it('--sessions keeps a login across a kill -9 and a restart on the same port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabbus-cli-sessions-'));
    try {
      const file = join(dir, 'sessions.json');
      const first = run(['--port', '0', '--sessions', file]);
      const firstOut = output(first);
      const url = await listening(first, firstOut);
      const login = await rpcOnNewConnection(url, '/web/session/authenticate', { db: 'tabbus', login: 'demo', password: 'demo' });
      expect(login.body.result.uid).toBe(6);
      first.kill('SIGKILL'); // no chance to save anything on the way out
      await firstOut.exit;

      const port = new URL(url).port;
      const second = run(['--port', port, '--sessions', file]);
      const secondOut = output(second);
      expect(await listening(second, secondOut)).toBe(url);
      expect(secondOut.stderr()).toContain(`sessions in ${file}`);
      const info = await rpcOnNewConnection(url, '/web/session/get_session_info', {}, login.sessionId);
      expect(info.body.result).toMatchObject({ uid: 6, username: 'demo' });
      second.kill('SIGTERM');
      expect(await secondOut.exit).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--sessions with a corrupt file exits 1 naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabbus-cli-sessions-'));
    try {
      const file = join(dir, 'sessions.json');
      writeFileSync(file, 'not json');
      const out = output(run(['--port', '0', '--sessions', file]));
      expect(await out.exit).toBe(1);
      expect(out.stderr()).toMatch(new RegExp(`^tabbus-dev-server: sessions file ${file}: not JSON`));
      expect(out.stdout()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with a clear message on bad arguments', async () => {
    const cases = [
      [['--odoo', '20'], /--odoo must be a version from 8 to 19/],
      [['--port', 'http'], /--port must be a number/],
      [['--port', '70000'], /--port must be a number/],
      [['--db', 'a b'], /--db must be/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--static', '/definitely/not/here'], /is not a directory/],
      [['--sessions', ''], /--sessions must be a file path/],
    ] as const;
    const runs = cases.map(([args]) => output(run([...args])));
    for (const [index, [args, message]] of cases.entries()) {
      const out = runs[index]!;
      expect(await out.exit, args.join(' ')).toBe(2);
      expect(out.stderr(), args.join(' ')).toMatch(message);
      expect(out.stdout()).toBe('');
    }
  });

  it('--help prints the usage and exits 0', async () => {
    const child = run(['--help']);
    const out = output(child);
    expect(await out.exit).toBe(0);
    expect(out.stdout()).toContain('Usage: tabbus-dev-server');
    expect(out.stdout()).toContain('--no-dev');
    expect(out.stdout()).toContain('--sessions PATH');
  });
});
