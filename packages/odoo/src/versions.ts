import { TabBusError } from '@tabbus/core';

/** Odoo versions whose bus is JSON-RPC long-polling on `/longpolling/poll`. */
export type LongpollingVersion = 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15;
/** Odoo versions whose bus is a WebSocket on `/websocket`. */
export type WebsocketVersion = 16 | 17 | 18 | 19;
/** An Odoo major version tabbus speaks to, 8–19. */
export type OdooVersion = LongpollingVersion | WebsocketVersion;

/** The oldest and newest versions tabbus speaks (`'auto'` speaks to a newer server as to the newest). */
export const OLDEST = 8;
export const NEWEST = 19;

/** Every version tabbus speaks, {@link OLDEST} to {@link NEWEST}. */
export const ODOO_VERSIONS: readonly OdooVersion[] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];

export function checkVersion(version: unknown): OdooVersion | 'auto' {
  // An integer from OLDEST to NEWEST: one of ODOO_VERSIONS, without the list in the bundle.
  if (version === 'auto' || (Number.isInteger(version) && (version as number) >= OLDEST && (version as number) <= NEWEST)) return version as OdooVersion | 'auto';
  throw new TabBusError('config', `version must be 'auto' or an integer from ${OLDEST} to ${NEWEST} (got ${JSON.stringify(version)})`, {
    context: { version },
  });
}

/** Odoo 16 replaced long-polling with a WebSocket. */
export const speaksWebsocket = (version: OdooVersion): version is WebsocketVersion => version >= 16;

/** Up to 14 each item names its channel and carries the raw message; from 15 it carries `{type, payload}`. */
export const hasTypedMessages = (version: OdooVersion): boolean => version >= 15;

/**
 * The poll's `options`, as each version's server reads them: 8/9 take a boolean `im_presence`
 * (Odoo 9 sent the window focus), 10–15 take `bus_inactivity` in milliseconds.
 */
export function presenceOptions(version: OdooVersion, inactivity: number | undefined): Record<string, unknown> {
  if (inactivity === undefined) return {};
  return version >= 10 ? { bus_inactivity: Math.max(0, Math.round(inactivity)) } : { im_presence: inactivity < 60_000 };
}

/**
 * The socket's `update_presence` data, as each version's server takes it as keyword arguments: 16–18
 * `_update_bus_presence(inactivity_period, im_status_ids_by_model)` (16 answers with the im_status of
 * those ids; 17/18 ignore them but still require the key); 19 `_update_mail_presence(inactivity_period)`,
 * which fails on any other key.
 */
export function websocketPresence(version: 16 | 17 | 18 | 19, inactivity: number, imStatusIds: Record<string, number[]> | undefined): Record<string, unknown> {
  return { inactivity_period: Math.max(0, Math.round(inactivity)), ...(version < 19 && { im_status_ids_by_model: imStatusIds ?? {} }) };
}
