export { createOdooBus } from './create-odoo-bus';
export type { OdooBus, OdooBusOptions } from './create-odoo-bus';
export { LongpollingTransport } from './longpolling';
export type { LongpollingOptions } from './longpolling';
export type { ChannelNotification, OdooNotification, TypedNotification } from './notifications';
export type { LongpollingVersion, OdooVersion } from './versions';
export { TabBusError, isSessionExpired } from '@tabbus/core';
export type { BusState, ErrorCode, GapEvent, Mode, Role, TransportState } from '@tabbus/core';
