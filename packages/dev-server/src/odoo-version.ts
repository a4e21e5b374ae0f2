// What differs between the Odoo versions the dev server emulates (8–15: long-polling; 16–19:
// WebSocket).
// Every version-dependent decision in the server goes through this module.

/** An Odoo major version the dev server emulates: 8–15 long-poll, 16–19 speak WebSocket. */
export type OdooVersion = 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19;

/** Every {@link OdooVersion}, oldest first. */
export const ODOO_VERSIONS: readonly OdooVersion[] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];

export function isOdooVersion(value: unknown): value is OdooVersion {
  return ODOO_VERSIONS.includes(value as OdooVersion);
}

/**
 * 15 stores `{type, payload}` messages, wraps client channels as `["<db>","<name>"]`, always
 * adds `broadcast`, and answers `[{id, message}]`. 8–14 store raw messages on `"<name>"`
 * channels and answer `[{id, channel, message}]`.
 */
export const hasTypedMessages = (v: OdooVersion): boolean => v >= 15;

/** `/longpolling/send` is a public test helper on 8–14; 15 removed it. */
export const hasSendRoute = (v: OdooVersion): boolean => v <= 14;

/** `options.peek` answers at once with `{notifications, channels}` (read in 11.0, seen on 15). */
export const hasPeek = (v: OdooVersion): boolean => v >= 11;

/**
 * Which presence model a logged-in poll feeds (protocol notes §2.1, §3, §4.1):
 * - `im_chat` (8): `im_chat.presence`, a stored status, fed by `options.im_presence`;
 * - `bus_focus` (9): `bus.presence`, a stored status, fed by `options.im_presence`;
 * - `bus_inactivity` (10–15): `bus.presence`, the status computed when read, fed by
 *   `options.bus_inactivity` (ms).
 */
export type PresenceFlavour = 'im_chat' | 'bus_focus' | 'bus_inactivity' | 'ws_stored';

// 16 feeds the 10–15 inactivity model from the socket's `update_presence`, with 16's
// DISCONNECTION_TIMER (UPDATE_PRESENCE_DELAY 60 + 5 s). Late 17 and 18+ (`ws_stored`) store the
// status at each update and write it offline when a socket of the user closes
// (`ir.websocket._on_websocket_closed`); the `bus.bus/im_status_updated` notifications are not emulated.
export const presenceFlavour = (v: OdooVersion): PresenceFlavour =>
  v === 8 ? 'im_chat' : v === 9 ? 'bus_focus' : v >= 17 ? 'ws_stored' : 'bus_inactivity';

/** `/longpolling/im_status(partner_ids)` (`auth=user`) is a bus route of 12–15 (§5.1). */
export const hasImStatusRoute = (v: OdooVersion): boolean => v >= 12 && v <= 15;

/** `release.version_info`: 8.0 has five fields, later versions add the edition (''). */
export function serverVersionInfo(v: OdooVersion): (number | string)[] {
  return v === 8 ? [8, 0, 0, 'final', 0] : [v, 0, 0, 'final', 0, ''];
}

export const serverVersion = (v: OdooVersion): string => `${v}.0`;

/** 16+ replace `/longpolling/*` (404) with the `/websocket` routes (§7, §11). */
export const hasWebSocket = (v: OdooVersion): boolean => v >= 16;

/**
 * Late 17.0 and 18+ (`websocket.py`, `MAX_NOTIFICATION_HISTORY_SEC`): a socket remembers the ids it sent
 * in the last 10 s and reads every id above its cursor that is not among them, so an id committed
 * after a higher one still goes out, late. Its cursor comes from the client's first subscribe only. 16
 * reads above the last id it sent, and takes the cursor of every subscribe.
 */
export const hasSentHistory = (v: OdooVersion): boolean => v >= 17;

/** How long a 17+ socket remembers an id it sent (`MAX_NOTIFICATION_HISTORY_SEC`). */
export const SENT_HISTORY_MS = 10_000;

/** The long-polling versions (8–15): `/longpolling/*` exists. */
export const hasLongpolling = (v: OdooVersion): boolean => v <= 15;

/**
 * The server's `websocket_worker_version` (17+: the session info carries it and the client sends
 * it as `/websocket?version=`); the values seen on running 17.0, 18.0 and 19.0 servers. 16 has none.
 */
export function websocketWorkerVersion(v: OdooVersion): string | undefined {
  if (v === 17) return '17.0-1';
  if (v === 18) return '18.0-5';
  if (v === 19) return '19.0-2';
  return undefined;
}

/**
 * The keys of the socket's `update_presence` data, which Odoo passes as keyword arguments: 16–18
 * `_update_bus_presence(inactivity_period, im_status_ids_by_model)`, 19 (presence moved to mail)
 * `_update_mail_presence(inactivity_period)`. Any other set of keys raises a TypeError there, which the
 * server logs; the presence is then not updated.
 */
export const presenceKeys = (v: OdooVersion): readonly string[] => (v >= 19 ? ['inactivity_period'] : ['im_status_ids_by_model', 'inactivity_period']);
