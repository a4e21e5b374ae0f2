import { createActivity, type Activity } from './activity';
import type { BusFeatures } from './bus';
import type { FeatureHub } from './hub';
import { createOnce, type OnceKeys } from './once';
import { createShared, type SharedValues } from './shared';

/** `bus.once()`: one tab per key runs a side effect. For `new TabBus(options, { once: onceFeature })`. */
export const onceFeature = (hub: FeatureHub): OnceKeys => createOnce(hub);
/** `bus.shared()`: values every tab of the scope shares. For `new TabBus(options, { shared: sharedFeature })`. */
export const sharedFeature = (hub: FeatureHub): SharedValues => createShared(hub);
/** Presence input: user input in every tab counts for the inactivity the server is told. For `{ presence: presenceFeature }`. */
export const presenceFeature = (hub: FeatureHub): Activity => createActivity(hub);

/** Every optional part: what `createBus` gives a bus. */
export const ALL_FEATURES: BusFeatures = { once: onceFeature, shared: sharedFeature, presence: presenceFeature };
