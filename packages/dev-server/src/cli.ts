// tabbus-dev-server: the command-line entry. Parses and checks the flags (exit 2 on bad usage),
// starts the server, prints one `listening on http://HOST:PORT` line on stdout once it accepts
// connections, and on SIGINT/SIGTERM answers held polls with [] (closes sockets 1001) and exits 0.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isOdooVersion } from './odoo-version';
import { parseCapacities } from './jobs';
import { startTempCluster, type TempCluster } from './pg/cluster';
import { createDevServer } from './server';
import type { DevServerOptions } from './server';
import { SessionsFileError } from './sessions-file';

const USAGE = `Usage: tabbus-dev-server [options]

An Odoo-faithful bus server for development, demos and tests: long-polling (Odoo 8–15)
or WebSocket (Odoo 16–19).

Options:
  --port N              TCP port (default 8069; 0 = any free port)
  --host H              interface to listen on (default 127.0.0.1)
  --odoo V              Odoo version to emulate, 8 to 19 (default 15; 16+ = WebSocket)
  --db NAME             database name (default tabbus); repeat it to serve several
                        databases (logins name one; the first is the default)
  --no-mail             8–15: the bus addon alone (by default, as with mail installed,
                        a logged-in poll also listens on the user's partner channel)
  --ws-session-check W  16+: when a socket whose session ended (logout, a login in
                        another tab) closes 4001: immediate (default), or on-frame,
                        as Odoo does (at its next message or dispatch)
  --no-dev              turn off the dev-only /tabbus/* routes (they answer 404)
  --sessions PATH       keep logged-in sessions in this JSON file, so a restart keeps
                        users logged in (missing or empty file = no sessions)
  --pg CONNINFO         keep bus_bus in PostgreSQL (libpq URL), NOTIFY imbus after
                        commit, one LISTEN connection; several servers may share it
  --pg-temp             start a throwaway PostgreSQL cluster (initdb), use it as --pg,
                        delete it on exit
  --job-channels SPEC   background job channels and their capacity (default root:2)
  --static [PREFIX=]DIR serve DIR under PREFIX (default /); repeatable. Replaces the
                        workspace defaults (/ → demo, /dist/core/ and /dist/odoo/ → the builds)
  -h, --help            show this help
`;

class UsageError extends Error {}

// The package directory: dist/cli.mjs (or src/cli.ts) sits one level below it.
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** In the tabbus workspace, serve the demo and the built browser bundles. */
function workspaceStaticRoots(): Record<string, string> {
  const repo = resolve(PACKAGE_DIR, '../..');
  if (!existsSync(resolve(repo, 'demo'))) return {};
  return {
    '/': resolve(repo, 'demo'),
    '/dist/core/': resolve(repo, 'packages/core/dist'),
    '/dist/odoo/': resolve(repo, 'packages/odoo/dist'),
  };
}

function parseStatic(values: readonly string[]): Record<string, string> {
  const roots: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const [prefix, dir] = eq > 0 && value.startsWith('/') ? [value.slice(0, eq), value.slice(eq + 1)] : ['/', value];
    const absolute = resolve(dir);
    if (!existsSync(absolute) || !statSync(absolute).isDirectory()) throw new UsageError(`--static: ${dir} is not a directory`);
    roots[prefix] = absolute;
  }
  return roots;
}

function checkedJobChannels(spec: string): string {
  try {
    parseCapacities(spec);
  } catch (error) {
    throw new UsageError(`--job-channels: ${(error as Error).message}`);
  }
  return spec;
}

function parseCommandLine(argv: readonly string[]): (DevServerOptions & { pgTemp?: boolean }) | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        odoo: { type: 'string' },
        db: { type: 'string', multiple: true },
        'no-mail': { type: 'boolean' },
        'ws-session-check': { type: 'string' },
        'no-dev': { type: 'boolean' },
        sessions: { type: 'string' },
        pg: { type: 'string' },
        'pg-temp': { type: 'boolean' },
        'job-channels': { type: 'string' },
        static: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return 'help';

  const port = values.port ?? '8069';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${port}"`);
  const odoo = Number((values.odoo ?? '15').replace(/\.0$/, ''));
  if (!isOdooVersion(odoo)) throw new UsageError(`--odoo must be a version from 8 to 19 (8–15 long-polling, 16–19 WebSocket), got "${values.odoo}"`);
  const [db = 'tabbus', ...databases] = values.db ?? [];
  for (const name of [db, ...databases]) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new UsageError(`--db must be letters, digits, "_", "-" or ".", got "${name}"`);
  }
  const host = values.host ?? '127.0.0.1';
  if (host === '') throw new UsageError('--host must not be empty');
  if (values.sessions === '') throw new UsageError('--sessions must be a file path');
  if (values.pg === '') throw new UsageError('--pg must be a connection string, e.g. postgresql://user@host/db');
  const check = values['ws-session-check'];
  if (check !== undefined && check !== 'immediate' && check !== 'on-frame') throw new UsageError(`--ws-session-check must be immediate or on-frame, got "${check}"`);
  if (values.pg !== undefined && values['pg-temp']) throw new UsageError('--pg and --pg-temp exclude each other');
  if (new Set([db, ...databases]).size > 1 && (values.pg !== undefined || values['pg-temp'])) {
    throw new UsageError('several --db cannot share one PostgreSQL bus_bus: give one --db with --pg/--pg-temp');
  }

  return {
    port: Number(port),
    host,
    odoo,
    db,
    ...(databases.length > 0 ? { databases } : {}),
    ...(values['no-mail'] ? { mail: false } : {}),
    ...(check === undefined ? {} : { websocketSessionCheck: check }),
    dev: !values['no-dev'],
    staticRoots: values.static ? parseStatic(values.static) : workspaceStaticRoots(),
    ...(values.sessions === undefined ? {} : { sessionsFile: resolve(values.sessions) }),
    ...(values.pg === undefined ? {} : { pg: values.pg }),
    ...(values['pg-temp'] ? { pgTemp: true } : {}),
    ...(values['job-channels'] === undefined ? {} : { jobChannels: checkedJobChannels(values['job-channels']) }),
  };
}

async function main(): Promise<void> {
  let options;
  try {
    options = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`tabbus-dev-server: ${error.message}\nTry 'tabbus-dev-server --help'.\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }

  // --pg-temp: a cluster of our own, deleted when the server stops.
  let cluster: TempCluster | undefined;
  if (options.pgTemp) {
    try {
      cluster = await startTempCluster();
    } catch (error) {
      process.stderr.write(`tabbus-dev-server: --pg-temp could not start PostgreSQL (is initdb on PATH?): ${(error as Error).message}\n`);
      process.exit(1);
    }
    options.pg = cluster.connectionString;
  }
  const cleanup = () => cluster?.stop();

  let server;
  try {
    server = await createDevServer(options);
  } catch (error) {
    await cleanup();
    if (error instanceof SessionsFileError) {
      process.stderr.write(`tabbus-dev-server: ${error.message}\n`);
      process.exit(1);
    }
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (pick another with --port N; --port 0 takes any free port; in the tabbus workspace: PORT=N pnpm demo)' : '';
    process.stderr.write(`tabbus-dev-server: cannot listen on ${options.host}:${options.port}: ${(error as Error).message}${inUse}\n`);
    process.exit(1);
  }
  const roots = Object.entries(options.staticRoots ?? {}).map(([prefix, dir]) => `${prefix} → ${dir}`);
  process.stderr.write(
    `tabbus-dev-server: Odoo ${server.odoo}, db ${server.databases.map((name) => `"${name}"`).join(', ')}, dev routes ${options.dev ? 'on' : 'off'}` +
      (roots.length ? `, static ${roots.join(', ')}` : '') +
      (options.sessionsFile ? `, sessions in ${options.sessionsFile}` : '') +
      (options.pg ? `, bus_bus in PostgreSQL${cluster ? ` (throwaway cluster in ${cluster.dir})` : ''}` : '') +
      '\n',
  );
  process.stdout.write(`listening on ${server.url}\n`);

  let stopping = false;
  const stop = (): void => {
    // A second signal while closing means "now".
    if (stopping) process.exit(1);
    stopping = true;
    server.close().then(
      async () => {
        await cleanup();
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`tabbus-dev-server: error while closing: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`tabbus-dev-server: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
