import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DevServerStats } from '@tabbus/dev-server';

/** Servers the tests stopped on purpose (their exit is not a crash). */
const stopping = new WeakSet<ChildProcess>();
const CLI = fileURLToPath(new URL('../../packages/dev-server/dist/cli.mjs', import.meta.url));

/** A dev server started from its built CLI, the way a user starts it. */
/** What `/tabbus/polls` lists: one long-poll as it reached the server. */
export interface PollArrival {
  /** Wall-clock arrival time (Date.now() in the server process). */
  at: number;
  session: string | null;
  last: number;
  channels: number;
}

export type FaultKind = 'invalid_json' | 'not_a_list' | 'missing_id' | 'html_400' | 'empty_close' | 'http_500' | 'huge' | 'rpc_error';

export class DevServer {
  url: string;
  #child: ChildProcess;
  readonly #args: string[];

  private constructor(url: string, child: ChildProcess, args: string[]) {
    this.url = url;
    this.#child = child;
    this.#args = args;
  }

  /**
   * Starts the CLI. Sessions are kept in a file (as Odoo keeps them on disk), so `restart()` keeps the
   * browsers logged in while the memory store, and its ids, start afresh.
   */
  static async start(args: string[] = []): Promise<DevServer> {
    const sessions = join(mkdtempSync(join(tmpdir(), 'tabbus-e2e-')), 'sessions.json');
    const all = ['--sessions', sessions, ...args];
    const { url, child } = await DevServer.#spawn(['--port', '0', ...all]);
    return new DevServer(url, child, all);
  }

  /** Kills the server without warning (SIGKILL: held polls see the connection drop) and starts it again on the same port. */
  async kill(): Promise<void> {
    stopping.add(this.#child);
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGKILL');
    await exited;
  }

  /** Starts the server again on the same port after `kill()`. */
  async revive(): Promise<void> {
    const port = new URL(this.url).port;
    const { url, child } = await DevServer.#spawn(['--port', port, ...this.#args]);
    this.url = url;
    this.#child = child;
  }

  static #spawn(args: string[]): Promise<{ url: string; child: ChildProcess }> {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`dev server did not start in 10 s\n${out}\n${err}`)), 10_000);
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve({ url: m[1]!, child });
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`dev server exited with ${code}\n${out}\n${err}`));
        // A crash after start-up must not go unnoticed: the tests would only see refused requests.
        if (!stopping.has(child)) console.error(`dev server exited (${code ?? signal}):\n${err.slice(-4000)}`);
      });
    });
  }

  async stats(): Promise<DevServerStats> {
    return (await this.#fetch('/tabbus/stats')).json() as Promise<DevServerStats>;
  }

  /** The Odoo version the server emulates (`--odoo`, default 15). */
  get odoo(): number {
    const i = this.#args.indexOf('--odoo');
    return i < 0 ? 15 : Number(this.#args[i + 1]);
  }

  /**
   * The browser's connections as the server counts them, whatever the transport: held long-polls on
   * 8–15, open sockets on 16+. `bySession` is what "one connection per browser" is checked on.
   */
  async connections(): Promise<{ open: number; bySession: Record<string, number>; peakPerSession: number }> {
    const s = await this.stats();
    return this.odoo >= 16
      ? { open: s.openSockets, bySession: s.openSocketsBySession, peakPerSession: s.peakOpenSocketsPerSession }
      : { open: s.openPolls, bySession: s.openPollsBySession, peakPerSession: s.peakOpenPollsPerSession };
  }

  /** Closes every open socket (16+) with this close code, as Odoo does for its own reasons. */
  async closeSockets(code: number, reason = ''): Promise<number> {
    const response = await this.#post('/tabbus/sockets/close', { code, reason });
    return ((await response.json()) as { closed: number }).closed;
  }

  async resetStats(): Promise<void> {
    await this.#fetch('/tabbus/stats/reset', { method: 'POST' });
  }

  /** Publishes one notification; returns its id. */
  async send(body: Record<string, unknown>): Promise<number> {
    const response = await this.#post('/tabbus/send', body);
    const { ids } = (await response.json()) as { ids: number[] };
    return ids[0]!;
  }

  /** Inserts one notification in a transaction left open: its id is taken, nobody reads it until {@link commit}. */
  async sendUncommitted(body: Record<string, unknown>): Promise<number> {
    const response = await this.#post('/tabbus/send-uncommitted', body);
    const { ids } = (await response.json()) as { ids: number[] };
    return ids[0]!;
  }

  /** Commits notifications of {@link sendUncommitted}; returns the ids committed. */
  async commit(ids: number[]): Promise<number[]> {
    const response = await this.#post('/tabbus/commit', { ids });
    return ((await response.json()) as { committed: number[] }).committed;
  }

  /** The next `count` requests to `route` (default the long-poll) get a bad reply of this kind. */
  async fault(kind: FaultKind, count = 1, route?: string): Promise<void> {
    await this.#post('/tabbus/fault', { kind, count, ...(route ? { route } : {}) });
  }

  /** Long-polls (8–15) or `subscribe` frames (16+) that reached the server at or after `since` (wall clock). */
  async polls(since: number): Promise<PollArrival[]> {
    return (await this.#fetch(`/tabbus/polls?since=${since}`)).json() as Promise<PollArrival[]>;
  }

  /** Forgets every session (of `login`, when given), as when they expire server-side. */
  async expire(login?: string): Promise<number> {
    const response = await this.#post('/tabbus/expire', login ? { login } : {});
    return ((await response.json()) as { deleted: number }).deleted;
  }

  /** Each user's presence as the server computes it (`GET /tabbus/presence`). */
  async presence(): Promise<{ uid: number; status: string; lastPoll: number; lastPresence: number }[]> {
    return (await this.#fetch('/tabbus/presence')).json() as Promise<{ uid: number; status: string; lastPoll: number; lastPresence: number }[]>;
  }

  /** Moves the server's clock (holds, presence timers, GC) forward. */
  async advance(ms: number): Promise<void> {
    await this.#post('/tabbus/clock', { advance: ms });
  }

  async #post(path: string, body: unknown): Promise<Response> {
    const response = await this.#fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
    return response;
  }

  /** After a restart Node may first reuse a pooled socket to the dead process: one retry covers that. */
  async #fetch(path: string, init?: RequestInit): Promise<Response> {
    try {
      return await fetch(this.url + path, init);
    } catch {
      return fetch(this.url + path, init);
    }
  }

  stop(): Promise<void> {
    stopping.add(this.#child);
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null) return resolve();
      this.#child.once('exit', () => resolve());
      stopping.add(this.#child);
      this.#child.kill('SIGTERM');
    });
  }
}
