// One dev server (Odoo 15 long-polling) per measurement, started from its built CLI the way
// e2e/support/dev-server.ts does, serving the bench page, the esbuild output and the vendor files.
// Plain JS (the runner is `node`, which cannot load that .ts file).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
export const REPO = here('../../../');
const CLI = here('../../../packages/dev-server/dist/cli.mjs');

/** URL prefix → directory; `--static` replaces the dev server's defaults (the demo). */
export const STATIC = {
  '/': here('../page'),
  '/build/': here('../.build'),
  '/vendor/tabbus/': here('../../../packages/odoo/dist'),
  '/vendor/tabex/': here('../../node_modules/tabex/dist'),
};

/** Every server started and not yet stopped, so an interrupted run leaves no process behind. */
const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class BenchServer {
  /** @param {string} url @param {import('node:child_process').ChildProcess} child */
  constructor(url, child) {
    this.url = url;
    this.child = child;
  }

  static async start() {
    const args = [CLI, '--port', '0', '--odoo', '15'];
    for (const [prefix, dir] of Object.entries(STATIC)) args.push('--static', `${prefix}=${dir}`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const url = await new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`dev server did not start in 10 s\n${out}\n${err}`)), 10_000);
      child.stderr.on('data', (d) => (err += d));
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`dev server exited with ${code}\n${out}\n${err}`));
      });
    });
    return new BenchServer(url, child);
  }

  async #json(path, init) {
    const response = await fetch(this.url + path, init);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
    return response.json();
  }

  #post(path, body) {
    return this.#json(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  }

  stats() {
    return this.#json('/tabbus/stats');
  }

  resetStats() {
    return this.#post('/tabbus/stats/reset');
  }

  /** Publishes one Odoo 15 notification on `channel`; resolves with its id. */
  async send(channel, payload) {
    const { ids } = await this.#post('/tabbus/send', { channel, type: 'bench/tick', payload });
    return ids[0];
  }

  /** Polls that reached the server at or after `since` (wall clock), oldest first: {at, session, last, channels}. */
  polls(since) {
    return this.#json(`/tabbus/polls?since=${since}`);
  }

  stop() {
    running.delete(this.child);
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/**
 * Bus requests in a stats snapshot: every route but static files, unknown paths (the favicon) and
 * the dev routes (/tabbus/*), i.e. the polls and the session checks.
 */
export function busRequests(stats) {
  let total = 0;
  for (const [route, n] of Object.entries(stats.requests)) if (route !== 'static' && route !== 'other' && !route.startsWith('/tabbus/')) total += n;
  return total;
}
