// What each Odoo version does to a user's presence row when that user polls, and how it turns
// the row into online/away/offline. Three models (protocol notes §2.1, §3, §4.1, §5.1, §6.1):
//
// - 8.0 `im_chat.presence`: the controller always calls `update(options.get('im_presence', False))`.
//   Focus sets online and stamps last_presence; no focus turns the user away once last_presence is
//   older than AWAY_TIMER. The row is written only when the status changes or last_poll is older
//   than TIMEOUT. The status is stored.
// - 9.0 `bus.presence`: `update(im_presence)` only when the option is present. Focus → online, no
//   focus → away at once (9.0's update does not consult AWAY_TIMER, read in the public copy of
//   bus_presence.py the notes cite as S5); written on every update. The status is stored.
// - 10–15 `bus.presence`: `update(bus_inactivity)` only when the option is present; last_poll = now,
//   last_presence = now − inactivity (never moved backwards), written on every update. The status
//   is not stored but computed when read (res.partner's im_status SQL): offline past
//   DISCONNECTION_TIMER without a poll, else away past AWAY_TIMER without presence, else online.
//
// 8 and 9 only ever mark users offline in a sweep that runs after an update (see sweepDue).
import { OdooError, pythonTypeError } from './jsonrpc';
import { presenceFlavour } from './odoo-version';
import type { OdooVersion } from './odoo-version';
import { pythonTruthy, pythonTypeName } from './python-values';

/** A user's presence as Odoo's `im_status` reports it. */
export type PresenceStatus = 'online' | 'away' | 'offline';

/** One row of the presence table; times in clock ms. */
export interface PresenceRow {
  readonly lastPoll: number;
  readonly lastPresence: number;
  /**
   * The stored `status` column. 8 and 9 read the user's status from it; 10–15 leave it at its
   * default (offline) and compute the status from the two times instead.
   */
  readonly status: PresenceStatus;
}

/**
 * What one logged-in poll does to its user's row: the row to write, `no-write` when the update
 * ran but wrote nothing (8.0's throttle), `not-called` when the version does not update presence
 * for this poll at all (9–15 without their option).
 */
export type PresenceUpdate = PresenceRow | 'no-write' | 'not-called';

export interface PresenceRules {
  /** The Odoo model holding the rows. */
  readonly model: 'im_chat.presence' | 'bus.presence';
  /** AWAY_TIMER, in ms. */
  readonly awayTimerMs: number;
  /** DISCONNECTION_TIMER, in ms. */
  readonly disconnectionTimerMs: number;
  /** Runs the version's update for a poll; throws an OdooError where Odoo's code would raise. */
  update(options: Record<string, unknown>, row: PresenceRow | undefined, now: number): PresenceUpdate;
  /** The user's im_status as the version reports it. */
  status(row: PresenceRow | undefined, now: number): PresenceStatus;
  /** Whether the update that just ran is followed by the disconnection sweep (8 and 9). */
  sweepDue(now: number): boolean;
  /**
   * What a closing socket of the user writes (late 17 and 18+: `_on_websocket_closed` sets the stored
   * status offline); undefined where a socket's close leaves presence alone.
   */
  socketClosed?(row: PresenceRow): PresenceRow;
}

// Odoo's TIMEOUT (bus.py): the longest hold, 8.0's write throttle, and the base of the disconnection timer.
const TIMEOUT_MS = 50_000;
// DISCONNECTION_TIMER = TIMEOUT + 5 in every long-polling version.
const DISCONNECTION_TIMER_MS = TIMEOUT_MS + 5_000;
// 16+: DISCONNECTION_TIMER = UPDATE_PRESENCE_DELAY (60) + 5, the web client sending update_presence every 60 s.
const DISCONNECTION_TIMER_16_MS = 65_000;
// AWAY_TIMER: 10 minutes in 8 and 9, 30 minutes from 10.
const AWAY_TIMER_8_9_MS = 600_000;
const AWAY_TIMER_10_MS = 1_800_000;
// 9.0's DISCONNECTIONS_CHECK_PERIOD: a process-wide throttle on the sweep.
const DISCONNECTIONS_CHECK_PERIOD_MS = 60_000;

// Python's datetime covers years 1 to 9999; a last_presence outside raises OverflowError.
const PY_DATETIME_MIN_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const PY_DATETIME_END_MS = 253_402_300_800_000; // 10000-01-01T00:00:00Z, excluded

/** The option as Python's `options.get(key)` sees it (own keys only: `constructor` is not an option). */
const option = (options: Record<string, unknown>, key: string): unknown => (Object.hasOwn(options, key) ? options[key] : undefined);

const storedStatus = (row: PresenceRow | undefined): PresenceStatus => row?.status ?? 'offline';

/** A first update creates the row: online, with last_poll and last_presence at their default, now. */
const createdOnline = (now: number): PresenceRow => ({ lastPoll: now, lastPresence: now, status: 'online' });

function imChatRules(): PresenceRules {
  return {
    model: 'im_chat.presence',
    awayTimerMs: AWAY_TIMER_8_9_MS,
    disconnectionTimerMs: DISCONNECTION_TIMER_MS,
    update(options, row, now) {
      // A missing option counts as False: `options.get('im_presence', False)`.
      const present = pythonTruthy(option(options, 'im_presence'));
      if (!row) return createdOnline(now);
      const status = present ? 'online' : now - row.lastPresence > AWAY_TIMER_8_9_MS ? 'away' : row.status;
      // Fewer writes, fewer serialization failures: nothing is written (so neither last_poll nor
      // last_presence moves) unless the status changed or last_poll is older than TIMEOUT.
      if (status === row.status && !(now - row.lastPoll > TIMEOUT_MS)) return 'no-write';
      return { lastPoll: now, lastPresence: present ? now : row.lastPresence, status };
    },
    status: storedStatus,
    // 8.0 sweeps after 1 % of the updates (`random.random() < 0.01`). Here every update sweeps, so
    // that a test sees the same result every run: the state Odoo reaches sooner or later.
    sweepDue: () => true,
  };
}

function busFocusRules(startedAt: number): PresenceRules {
  // Module-level in 9.0, set when the module is imported: the first sweep comes a minute after start.
  let lastCheck = startedAt;
  return {
    model: 'bus.presence',
    awayTimerMs: AWAY_TIMER_8_9_MS,
    disconnectionTimerMs: DISCONNECTION_TIMER_MS,
    update(options, row, now) {
      if (!Object.hasOwn(options, 'im_presence')) return 'not-called';
      const present = pythonTruthy(options['im_presence']);
      if (!row) return createdOnline(now);
      // last_presence keeps the value it got when the row was created.
      return { lastPoll: now, lastPresence: row.lastPresence, status: present ? 'online' : 'away' };
    },
    status: storedStatus,
    sweepDue(now) {
      if (!(now - DISCONNECTIONS_CHECK_PERIOD_MS > lastCheck)) return false;
      lastCheck = now;
      return true;
    },
  };
}

/** `timedelta(milliseconds=value)`: numbers and booleans (a bool is an int in Python) only. */
function inactivityMs(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  throw pythonTypeError(`unsupported type for timedelta milliseconds component: ${pythonTypeName(value)}`);
}

/** `now − bus_inactivity`, as Python's datetime arithmetic: out of its range, the OverflowError Odoo answers. */
function lastPresenceOf(options: Record<string, unknown>, now: number): number {
  const lastPresence = now - inactivityMs(options['bus_inactivity']);
  if (!(lastPresence >= PY_DATETIME_MIN_MS && lastPresence < PY_DATETIME_END_MS)) {
    throw new OdooError('builtins.OverflowError', 'date value out of range');
  }
  return lastPresence;
}

function busInactivityRules(disconnectionTimerMs: number): PresenceRules {
  return {
    model: 'bus.presence',
    awayTimerMs: AWAY_TIMER_10_MS,
    disconnectionTimerMs,
    update(options, row, now) {
      if (!Object.hasOwn(options, 'bus_inactivity')) return 'not-called';
      const lastPresence = lastPresenceOf(options, now);
      if (!row) return { lastPoll: now, lastPresence, status: 'offline' };
      // A tab reporting older input than another tab already did must not make the user look idle.
      return { lastPoll: now, lastPresence: Math.max(row.lastPresence, lastPresence), status: row.status };
    },
    status(row, now) {
      if (!row || now - row.lastPoll > disconnectionTimerMs) return 'offline';
      return now - row.lastPresence > AWAY_TIMER_10_MS ? 'away' : 'online';
    },
    sweepDue: () => false,
  };
}

/**
 * Late 17 and 18+ `bus.presence._update_presence`: every update writes last_poll = now, last_presence =
 * now − inactivity and the status, `away` past AWAY_TIMER of inactivity, else `online`; im_status reads
 * the stored status. Nothing turns it offline with time: a closing socket of the user does
 * (`_on_websocket_closed`), or the 12 h autovacuum that deletes the row.
 */
function wsStoredRules(): PresenceRules {
  return {
    model: 'bus.presence',
    awayTimerMs: AWAY_TIMER_10_MS,
    disconnectionTimerMs: DISCONNECTION_TIMER_16_MS,
    update(options, _row, now) {
      if (!Object.hasOwn(options, 'bus_inactivity')) return 'not-called';
      const lastPresence = lastPresenceOf(options, now);
      return { lastPoll: now, lastPresence, status: now - lastPresence > AWAY_TIMER_10_MS ? 'away' : 'online' };
    },
    status: storedStatus,
    sweepDue: () => false,
    socketClosed: (row) => ({ ...row, status: 'offline' }),
  };
}

/** The presence rules of an Odoo version; `startedAt` is when the server started (clock ms). */
export function presenceRules(version: OdooVersion, startedAt: number): PresenceRules {
  switch (presenceFlavour(version)) {
    case 'im_chat':
      return imChatRules();
    case 'bus_focus':
      return busFocusRules(startedAt);
    case 'bus_inactivity':
      return busInactivityRules(version >= 16 ? DISCONNECTION_TIMER_16_MS : DISCONNECTION_TIMER_MS);
    case 'ws_stored':
      return wsStoredRules();
  }
}
