import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DevServerStats } from '@tabbus/dev-server';

/** Servers the tests stopped on purpose (their exit is not a crash). */
const stopping = new WeakSet<ChildProcess>();
const CLI = fileURLToPath(new URL('../../packages/dev-server/dist/cli.mjs', import.meta.url));

/** A dev server started from its built CLI, the way a user starts it. */
export class DevServer {
  readonly url: string;
  readonly #child: ChildProcess;

  private constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.#child = child;
  }

  static start(args: string[] = []): Promise<DevServer> {
    const child = spawn(process.execPath, [CLI, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
          resolve(new DevServer(m[1]!, child));
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
    return (await fetch(`${this.url}/tabbus/stats`)).json() as Promise<DevServerStats>;
  }

  async resetStats(): Promise<void> {
    await fetch(`${this.url}/tabbus/stats/reset`, { method: 'POST' });
  }

  /** Publishes one notification; returns its id. */
  async send(body: Record<string, unknown>): Promise<number> {
    const response = await fetch(`${this.url}/tabbus/send`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`/tabbus/send: HTTP ${response.status} ${await response.text()}`);
    const { ids } = (await response.json()) as { ids: number[] };
    return ids[0]!;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null) return resolve();
      this.#child.once('exit', () => resolve());
      stopping.add(this.#child);
      this.#child.kill('SIGTERM');
    });
  }
}
