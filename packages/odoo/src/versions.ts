import { TabBusError } from '@tabbus/core';

/** Odoo versions whose bus is JSON-RPC long-polling on `/longpolling/poll`. */
export type LongpollingVersion = 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15;
export type OdooVersion = LongpollingVersion;

export const LONGPOLLING_VERSIONS: readonly LongpollingVersion[] = [8, 9, 10, 11, 12, 13, 14, 15];

export function checkVersion(version: unknown): OdooVersion {
  if (LONGPOLLING_VERSIONS.includes(version as LongpollingVersion)) return version as OdooVersion;
  throw new TabBusError('config', `version must be one of ${LONGPOLLING_VERSIONS.join(', ')} (got ${JSON.stringify(version)}); Odoo 16+ speaks WebSocket, which this build does not support yet`, {
    context: { version },
  });
}

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
