import { TabBusError } from '@tabbus/core';
import { LongpollingTransport } from './longpolling';
import { makeOdooBus, type OdooBus, type OdooBusOptions, type OdooBusParts } from './odoo-bus';
import { checkVersion, speaksWebsocket } from './versions';
import { WebsocketTransport } from './websocket';

/**
 * The bus of a build that carries one version family: the version must be given, and be of that family;
 * anything else is a `config` error that names the build which speaks it. No detection: a page that loads
 * the build for its series knows its series.
 */
function oneFamilyBus(family: 'longpolling' | 'websocket', options: OdooBusOptions, parts: OdooBusParts): OdooBus {
  const version = options.version === undefined ? undefined : checkVersion(options.version);
  if (version === undefined || version === 'auto' || (speaksWebsocket(version) ? 'websocket' : 'longpolling') !== family) {
    const speaks = family === 'websocket' ? '16+' : '8–15';
    throw new TabBusError('config', `this bus speaks Odoo ${speaks} only (version: ${String(version)}); createOdooBus (tabbus.global.min.js) speaks every version and 'auto'`, {
      context: { version, build: family },
    });
  }
  return makeOdooBus(options, parts);
}

/**
 * {@link createOdooBus} for Odoo 16+ only: the WebSocket transport without the long-polling one or the
 * version detection, for a smaller bundle (the script tag `tabbus.websocket.global.min.js`, the addon's on
 * 16 to 19, is built on it). `version` is required: 16 or later, else a `config` error.
 */
export function createOdooWebsocketBus(options: OdooBusOptions = {}): OdooBus {
  return oneFamilyBus('websocket', options, { websocket: WebsocketTransport });
}

/**
 * {@link createOdooBus} for Odoo 8–15 only: the long-polling transport without the WebSocket one or the
 * version detection, for a smaller bundle (the script tag `tabbus.longpolling.global.min.js`, the addon's on
 * 14 and 15, is built on it). `version` is required: 8 to 15, else a `config` error.
 */
export function createOdooLongpollingBus(options: OdooBusOptions = {}): OdooBus {
  return oneFamilyBus('longpolling', options, { longpolling: LongpollingTransport });
}
