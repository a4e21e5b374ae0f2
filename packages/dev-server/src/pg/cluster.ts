// A throwaway PostgreSQL cluster for demos and tests: initdb in a temporary directory, postgres on a
// free port and a Unix socket in that directory, removed on stop. As root, initdb and pg_ctl run as the
// `postgres` user (initdb refuses root).
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway PostgreSQL cluster (initdb in a temporary directory), as {@link startTempCluster} made it. */
export interface TempCluster {
  /** `postgresql://postgres@/postgres?host=<socket dir>&port=<port>`: the socket, no TCP. */
  readonly connectionString: string;
  /** The temporary directory: data, log and the Unix socket. */
  readonly dir: string;
  /** The port in the socket's name (no TCP listener). */
  readonly port: number;
  /** Stops PostgreSQL at once (`immediate`, as a crash would) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops it (`-m stop` mode) without starting it again; `start()` brings it back. */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts PostgreSQL again after `stopServer()`. */
  startServer(): Promise<void>;
  /** Stops PostgreSQL and deletes the cluster. */
  stop(): Promise<void>;
}

/** Whether this machine can make a cluster (initdb on PATH). */
export async function canMakeCluster(): Promise<boolean> {
  try {
    await run('initdb', ['--version']);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Makes and starts a throwaway cluster (`initdb`, then `pg_ctl start`; as root, as the `postgres` user), for
 * `--pg-temp` and tests. `stop()` removes it. Needs `initdb` on PATH (see {@link canMakeCluster}).
 */
export async function startTempCluster(): Promise<TempCluster> {
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'tabbus-pg-'));
  const data = join(dir, 'data');
  if (asRoot) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
  // As root, as the postgres user; otherwise as ourselves.
  const pg = (command: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args));
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=off -c max_connections=200`;
  const startServer = async () => void (await pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']));
  const stopServer = async (mode: 'fast' | 'immediate' = 'fast') => void (await pg('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']));
  await startServer();
  return {
    connectionString: `postgresql://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    dir,
    port,
    startServer,
    stopServer,
    async restart() {
      await stopServer('immediate');
      await startServer();
    },
    async stop() {
      await stopServer('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
