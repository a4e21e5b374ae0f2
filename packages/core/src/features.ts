import { createActivity, type Activity } from './activity';
import { TabBusError } from './errors';
import type { FeatureHub } from './hub';
import { createOnce, type OnceKeys } from './once';
import { createShared, type SharedValues } from './shared';

/**
 * The optional parts of a bus, each built for the bus that uses it. `createBus` gives a bus all of them;
 * `new TabBus(options, features)` only those passed, so an ESM bundle carries only what it uses.
 */
export interface BusFeatures {
  /** `bus.once()`: `onceFeature`. */
  readonly once?: (hub: FeatureHub) => OnceKeys;
  /** `bus.shared()`: `sharedFeature`. */
  readonly shared?: (hub: FeatureHub) => SharedValues;
  /** User input in every tab counted for presence: `presenceFeature`. Without it the server is not told of inactivity. */
  readonly presence?: (hub: FeatureHub) => Activity;
}

/** `bus.once()`: one tab per key runs a side effect. For `new TabBus(options, { once: onceFeature })`. */
export const onceFeature = (hub: FeatureHub): OnceKeys => createOnce(hub);
/** `bus.shared()`: values every tab of the scope shares. For `new TabBus(options, { shared: sharedFeature })`. */
export const sharedFeature = (hub: FeatureHub): SharedValues => createShared(hub);
/** Presence input: user input in every tab counts for the inactivity the server is told. For `{ presence: presenceFeature }`. */
export const presenceFeature = (hub: FeatureHub): Activity => createActivity(hub);

/** Every optional part: what `createBus` gives a bus. */
export const ALL_FEATURES: BusFeatures = { once: onceFeature, shared: sharedFeature, presence: presenceFeature };

/** The feature part `name` of a bus, or a clear error when the bus was made without it. */
export function need<T>(part: T | undefined, name: 'once' | 'shared'): T {
  if (!part) throw new TabBusError('config', `${name}() needs the ${name} feature: create the bus with createBus(), or pass { ${name}: ${name}Feature }`);
  return part;
}
