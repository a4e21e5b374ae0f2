/**
 * `@tabbus/odoo`: the Odoo bus shared by every tab of a browser. {@link createOdooBus} is the entry point
 * ({@link createOdooWebsocketBus} and {@link createOdooLongpollingBus} are the same for one version family,
 * and leave the other family's code out of a bundle); the transports (long-polling for Odoo 8–15, WebSocket for 16–19) are exported for those who build a bus
 * with `createBus` from `@tabbus/core` themselves.
 *
 * @module
 */
export { createOdooBus } from './create-odoo-bus';
export { createOdooLongpollingBus, createOdooWebsocketBus } from './one-family';
export type { OdooLongpollingBusOptions, OdooWebsocketBusOptions } from './one-family';
export type { OdooBus, OdooBusOptions } from './create-odoo-bus';
export { authenticate, logout } from './auth';
export type { ServerOptions } from './auth';
export { announceSession, hearSessions, LOGIN_PENDING_FOR } from './sessions';
export { REQUEST_TIMEOUT } from './jsonrpc';
export type { LoginDoneNews, LoginNews, LoginOutcome, LogoutNews, ScopeNews, SessionEar, SessionNews } from './sessions';
export type { SessionInfo } from './session';
export { LongpollingTransport } from './longpolling';
export type { LongpollingOptions } from './longpolling';
export { WebsocketTransport } from './websocket';
export type { WebsocketOptions } from './websocket';
export type { ChannelNotification, OdooNotification, TypedNotification } from './notifications';
export type { LongpollingVersion, OdooVersion, WebsocketVersion } from './versions';
export { TabBusError, isSessionExpired } from '@tabbus/core';
export type { BusState, ErrorCode, GapEvent, Mode, Role, TransportState } from '@tabbus/core';
