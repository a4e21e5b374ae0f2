// Users and sessions, as far as the bus needs them: a `session_id` cookie that is either logged
// in (uid set) or public (uid null). Odoo's public routes (like /longpolling/poll) hand out a new
// public session to any request without a known cookie; authenticated routes refuse those.
// Logged-in sessions can outlive the process: `onLoggedInChange` lets sessions-file.ts save them.
import { randomBytes } from 'node:crypto';

/** A user who can log in to the dev server (`admin`/`admin` and `demo`/`demo` by default). */
export interface DevUser {
  /** The login name `/web/session/authenticate` expects. */
  readonly login: string;
  /** The password, in clear: this is a development server. */
  readonly password: string;
  /** The user id (`res.users`). */
  readonly uid: number;
  /** The user's partner id (`res.partner`): presence and the partner channel go by it. */
  readonly partnerId: number;
  /** The display name. */
  readonly name: string;
  /** Member of "Settings" (base.group_system); defaults to false. */
  readonly isSystem?: boolean;
}

export const DEFAULT_USERS: readonly DevUser[] = [
  { login: 'admin', password: 'admin', uid: 2, partnerId: 3, name: 'Mitchell Admin', isSystem: true },
  { login: 'demo', password: 'demo', uid: 6, partnerId: 7, name: 'Marc Demo' },
  // A third internal user, for measurements with several users per database.
  { login: 'joel', password: 'joel', uid: 7, partnerId: 8, name: 'Joel Willis' },
];

export interface Session {
  /** 40 hex characters, like Odoo 8–17's session ids. */
  readonly id: string;
  /** The logged-in user, or null for a public session. */
  readonly user: DevUser | null;
  /**
   * The database the session is bound to (Odoo's `session.db`): every request of this cookie is served
   * from it. A public session gets the server's first database.
   */
  readonly db: string;
}

// Every request without a known cookie to a public route gets a new public session, so a
// client that never keeps its cookie would grow the map forever: past this many sessions the
// oldest public ones are forgotten (a forgotten session just looks like a new visitor).
const MAX_SESSIONS = 10_000;

export interface SessionStoreOptions {
  /** The database of sessions created without one (public sessions); default `tabbus`. */
  readonly db?: string;
  /** Sessions to start with (read from the sessions file). */
  readonly restore?: readonly Session[];
  /**
   * Called with every session whenever the set of logged-in sessions changes (login, logout,
   * expiry), so they can be saved. Public sessions coming and going do not call it.
   */
  readonly onLoggedInChange?: (sessions: Iterable<Session>) => void;
}

export class SessionStore {
  readonly #users: readonly DevUser[];
  readonly #db: string;
  readonly #sessions = new Map<string, Session>();
  readonly #onLoggedInChange: ((sessions: Iterable<Session>) => void) | undefined;
  readonly #endedListeners = new Set<(id: string) => void>();

  constructor(users: readonly DevUser[], options: SessionStoreOptions = {}) {
    this.#users = users;
    this.#db = options.db ?? 'tabbus';
    for (const session of options.restore ?? []) this.#sessions.set(session.id, session);
    this.#onLoggedInChange = options.onLoggedInChange;
  }

  get(id: string | undefined): Session | undefined {
    return id === undefined ? undefined : this.#sessions.get(id);
  }

  /** The user whose login and password match, if any. */
  findUser(login: unknown, password: unknown): DevUser | undefined {
    return this.#users.find((user) => user.login === login && user.password === password);
  }

  /** The user with this login, if any (dev routes act for a user by login). */
  userByLogin(login: string): DevUser | undefined {
    return this.#users.find((user) => user.login === login);
  }

  /** The user whose partner this is, if any (8.0 sends a user's private notifications by uid). */
  userByPartner(partnerId: number): DevUser | undefined {
    return this.#users.find((user) => user.partnerId === partnerId);
  }

  /** Creates a session under a new id (Odoo rotates the id on login), on `db` or the first database. */
  create(user: DevUser | null, db: string = this.#db): Session {
    const session: Session = { id: randomBytes(20).toString('hex'), user, db };
    this.#sessions.set(session.id, session);
    if (this.#sessions.size > MAX_SESSIONS) this.#forgetOldestPublic();
    if (user) this.#changed();
    return session;
  }

  delete(id: string): boolean {
    const session = this.#sessions.get(id);
    if (!session) return false;
    this.#sessions.delete(id);
    if (session.user) this.#changed();
    this.#ended(id);
    return true;
  }

  /**
   * Server-side expiry: deletes every session, or only the sessions logged in as `login`.
   * Returns how many were deleted.
   */
  expire(login?: string): number {
    let deleted = 0;
    let loggedIn = false;
    for (const [id, session] of this.#sessions) {
      if (login !== undefined && session.user?.login !== login) continue;
      this.#sessions.delete(id);
      deleted++;
      loggedIn ||= session.user !== null;
      this.#ended(id);
    }
    if (loggedIn) this.#changed();
    return deleted;
  }

  /**
   * Calls `listener` with the id of every session ended by logout (`delete`) or `expire`, so the
   * WebSocket connections of that session can close with 4001. Returns the unsubscribe function.
   * Public sessions forgotten to bound memory do not count: they did not end, they were dropped.
   */
  onEnded(listener: (id: string) => void): () => void {
    this.#endedListeners.add(listener);
    return () => this.#endedListeners.delete(listener);
  }

  #ended(id: string): void {
    for (const listener of [...this.#endedListeners]) listener(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #changed(): void {
    this.#onLoggedInChange?.(this.#sessions.values());
  }

  #forgetOldestPublic(): void {
    // Maps iterate in insertion order: the first public session found is the oldest.
    for (const [id, session] of this.#sessions) {
      if (session.user === null) {
        this.#sessions.delete(id);
        return;
      }
    }
  }
}

/** The `session_id` value of a Cookie header, if present. */
export function sessionIdFromCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === 'session_id') return part.slice(eq + 1).trim();
  }
  return undefined;
}

// Odoo 14/15 keep the session cookie for 90 days.
const COOKIE_MAX_AGE_S = 90 * 24 * 3600;

/** The Set-Cookie value Odoo sends with every response of a session. */
export function sessionCookie(id: string): string {
  const expires = new Date(Date.now() + COOKIE_MAX_AGE_S * 1000).toUTCString();
  return `session_id=${id}; Expires=${expires}; Max-Age=${COOKIE_MAX_AGE_S}; HttpOnly; Path=/; SameSite=Lax`;
}
