// The on-disk copy of the logged-in sessions, so a restarted server still knows the browser's
// cookie (Odoo keeps its sessions in files, so a restart keeps users logged in).
//
// Format: `{"version":1,"sessions":[{"id":"<40 hex>","uid":2,"login":"admin","db":"tabbus"}, …]}`
// (`db` is written only for a database other than the server's first one, so a one-database server
// writes the same file as before `db` existed; an entry without it belongs to the first database). Only
// logged-in sessions are written: a public session that is forgotten looks exactly like a new
// visitor (public routes hand out a new one), and writing one on every cookieless poll would turn
// the file into a hot spot.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { DevUser, Session } from './sessions';

/** The sessions file cannot be read, parsed or written: a start-up error, with the path in it. */
export class SessionsFileError extends Error {
  constructor(path: string, problem: string, options?: { cause: unknown }) {
    super(`sessions file ${path}: ${problem}`, options);
    this.name = 'SessionsFileError';
  }
}

interface StoredSession {
  id: string;
  uid: number;
  login: string;
  db?: string;
}

const FORMAT_VERSION = 1;
const SESSION_ID = /^[0-9a-f]{40}$/;

function isStoredSession(value: unknown): value is StoredSession {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry['id'] === 'string' &&
    SESSION_ID.test(entry['id']) &&
    Number.isInteger(entry['uid']) &&
    typeof entry['login'] === 'string' &&
    (entry['db'] === undefined || typeof entry['db'] === 'string')
  );
}

/**
 * Reads the sessions saved in `path`. A missing or empty file means no sessions (so a path from
 * `mktemp` works); anything else that is not this format throws SessionsFileError. Sessions of
 * users who no longer exist (same login and uid), or of a database the server no longer serves, are
 * dropped, as Odoo drops a session whose user is gone. `databases`: the server's, the first being
 * where an entry without `db` belongs.
 */
export function loadSessions(path: string, users: readonly DevUser[], databases: readonly string[] = ['tabbus']): Session[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SessionsFileError(path, `cannot read it: ${(error as Error).message}`, { cause: error });
  }
  if (text.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SessionsFileError(path, `not JSON (${(error as Error).message}); delete it to start with no sessions`, { cause: error });
  }
  const file = json as Record<string, unknown> | null;
  if (typeof file !== 'object' || file === null || file['version'] !== FORMAT_VERSION || !Array.isArray(file['sessions'])) {
    throw new SessionsFileError(path, `expected {"version":${FORMAT_VERSION},"sessions":[…]}; delete it to start with no sessions`);
  }
  const sessions: Session[] = [];
  for (const [index, entry] of (file['sessions'] as unknown[]).entries()) {
    if (!isStoredSession(entry)) throw new SessionsFileError(path, `session ${index} is not {id: <40 hex>, uid: <int>, login: <string>, db?: <string>}`);
    const user = users.find((u) => u.login === entry.login && u.uid === entry.uid);
    const db = entry.db ?? databases[0] ?? 'tabbus';
    if (user && databases.includes(db)) sessions.push({ id: entry.id, user, db });
  }
  return sessions;
}

/**
 * Replaces `path` with the logged-in sessions among `sessions`, atomically: a temporary file in
 * the same directory, then a rename, so a server killed mid-write leaves the old file or the new
 * one, never half of one. `mainDb` is the server's first database, whose sessions are written
 * without `db`. No fsync, like Odoo's werkzeug session store: this survives the
 * process dying, not the machine.
 */
export function saveSessions(path: string, sessions: Iterable<Session>, mainDb = 'tabbus'): void {
  const stored: StoredSession[] = [];
  for (const session of sessions) {
    if (!session.user) continue;
    const entry: StoredSession = { id: session.id, uid: session.user.uid, login: session.user.login };
    if (session.db !== mainDb) entry.db = session.db;
    stored.push(entry);
  }
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify({ version: FORMAT_VERSION, sessions: stored })}\n`);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new SessionsFileError(path, `cannot write it: ${(error as Error).message}`, { cause: error });
  }
}
