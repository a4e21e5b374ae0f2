import { browserEnv, type BusEnv, type FrameChannel } from '@tabbus/core';

/**
 * What one tab tells every other tab of the same server (same cookie jar) about the session cookie, which
 * pages cannot see (Odoo's `session_id` is HttpOnly):
 * - `scope`: a bus started for this user of this database (`uid`, `db`);
 * - `login`: a login is `pending` (the cookie is about to change), `done` (as `uid` of `db`), `failed`, or
 *   `over` without saying how (the addon's script on the page an Odoo login form led to: ask the server);
 * - `logout`: the session was ended.
 */
export type SessionNews = ScopeNews | LoginNews | LoginDoneNews | LogoutNews;

/** A bus started for this user of this database. */
export interface ScopeNews {
  /** Always `scope`. */
  readonly kind: 'scope';
  /** The database. */
  readonly db: string;
  /** The user's id. */
  readonly uid: number;
}

/**
 * A login is under way (`pending`: the cookie is about to change), `failed` (nothing changed), or `over`
 * with its outcome unknown to the page that says so (the cookie may have changed: whose session it is, the
 * server tells).
 */
export interface LoginNews {
  /** Always `login`. */
  readonly kind: 'login';
  /** Where the login stands. */
  readonly state: 'pending' | 'failed' | 'over';
}

/** A login is over: the session now belongs to `uid` of `db`. */
export interface LoginDoneNews {
  /** Always `login`. */
  readonly kind: 'login';
  /** Always `done`. */
  readonly state: 'done';
  /** The database logged into. */
  readonly db: string;
  /** The user logged in. */
  readonly uid: number;
}

/** The session was ended. */
export interface LogoutNews {
  /** Always `logout`. */
  readonly kind: 'logout';
}

const isNews = (data: unknown): data is SessionNews => {
  // What is no object (null, a string) has no `kind` either.
  const n = (data ?? {}) as Partial<Record<'kind' | 'state' | 'db' | 'uid', unknown>>;
  const who = typeof n.db === 'string' && Number.isSafeInteger(n.uid);
  return (n.kind === 'scope' && who) || n.kind === 'logout' || (n.kind === 'login' && (n.state === 'pending' || n.state === 'failed' || n.state === 'over' || (n.state === 'done' && who)));
};

/** The channel every tabbus page of `origin` shares, whoever is logged in: `tabbus:<origin>:sessions`. */
function sessionsChannel(origin: string, env: Pick<BusEnv, 'openChannel'> = browserEnv()): FrameChannel | undefined {
  try {
    return env.openChannel(`tabbus:${origin}:sessions`);
  } catch {
    // No channel at all: each tab learns of a change from its own session checks only.
    return undefined;
  }
}

/** Tells every tabbus tab of `origin` about the session (see SessionNews). */
export function announceSession(origin: string, news: SessionNews, env?: Pick<BusEnv, 'openChannel'>): void {
  const channel = sessionsChannel(origin, env);
  channel?.post(news);
  channel?.close();
}

/** How a pending login ended, as {@link SessionEar.settled} tells. */
export type LoginOutcome = 'done' | 'failed' | 'over' | 'timeout';

/** How long a `login: pending` keeps the buses of the origin on guard without a `done` or `failed`, in ms. */
export const LOGIN_PENDING_FOR = 30_000;

/** One bus's ear on its origin's session news. */
export interface SessionEar {
  /** A login was announced and is not over yet (for LOGIN_PENDING_FOR at most): the cookie is in flux. */
  readonly pending: boolean;
  /**
   * When the pending login is over: `done`, `failed` or `over` (how it went not said: ask the server) as
   * announced; `timeout` when nothing was said.
   */
  settled(): Promise<LoginOutcome>;
  /** Runs `check` once at a time: a second caller while one runs gets the same promise. */
  verify(check: () => Promise<void>): Promise<void>;
  /** The check under way, if any. */
  readonly checking: Promise<void> | undefined;
  /** Tells the other tabs of the origin. */
  announce(news: SessionNews): void;
  /** Listens (again); nothing if it listens already. */
  open(): void;
  /** Stops listening, and drops the pending login (its waiters hear `failed`). */
  close(): void;
}

/**
 * Listens to the session news of `origin` (from the start, or with `opened: false` from `open()` on); `hear`
 * gets each piece of news from another tab.
 */
export function hearSessions(origin: string, env: Pick<BusEnv, 'openChannel' | 'now' | 'setTimeout' | 'clearTimeout'>, hear: (news: SessionNews) => void, opened = true): SessionEar {
  let channel: FrameChannel | undefined;
  let pendingSince = -Infinity;
  let waiters: ((outcome: LoginOutcome) => void)[] = [];
  let timer: unknown;
  let checking: Promise<void> | undefined;
  const settle = (outcome: LoginOutcome) => {
    env.clearTimeout(timer);
    pendingSince = -Infinity;
    const waiting = waiters;
    waiters = [];
    for (const resolve of waiting) resolve(outcome);
  };
  const listen = (data: unknown) => {
    if (!isNews(data)) return;
    if (data.kind === 'login') {
      if (data.state === 'pending') {
        pendingSince = env.now();
        env.clearTimeout(timer);
        timer = env.setTimeout(() => settle('timeout'), LOGIN_PENDING_FOR);
      } else settle(data.state);
    }
    hear(data);
  };
  const ear: SessionEar = {
    get pending() {
      return env.now() - pendingSince < LOGIN_PENDING_FOR;
    },
    settled: () => new Promise((resolve) => waiters.push(resolve)),
    verify: (check) => (checking ??= check().finally(() => (checking = undefined))),
    get checking() {
      return checking;
    },
    announce: (news) => channel?.post(news),
    open() {
      if (channel) return;
      channel = sessionsChannel(origin, env);
      channel?.listen(listen);
    },
    close() {
      channel?.close();
      channel = undefined;
      settle('failed');
    },
  };
  if (opened) ear.open();
  return ear;
}
