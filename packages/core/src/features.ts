import { createActivity, type Activity } from './activity';
import { TabBusError } from './errors';
import type { FeatureHub } from './hub';
import { createOnce, type OnceKeys } from './once';
import { createShared, type SharedValues } from './shared';

/** The names of the optional parts of a bus. */
export type FeatureName = 'once' | 'shared' | 'presence';

/**
 * One optional part of a bus, to pass in {@link BusFeatures}: what it builds inside the bus is tabbus's
 * own business. The three there are: {@link onceFeature}, {@link sharedFeature}, {@link presenceFeature}.
 */
export interface Feature<Name extends FeatureName> {
  /** Which part it adds. */
  readonly name: Name;
}

/** What a feature is inside tabbus: its name, and how it is built for one bus. */
interface Buildable<Name extends FeatureName, Part> extends Feature<Name> {
  readonly build: (hub: FeatureHub) => Part;
}

/**
 * The optional parts of a bus, each built for the bus that uses it. `createBus` gives a bus all of them;
 * `new TabBus(options, features)` only those passed, so an ESM bundle carries only what it imports.
 */
export interface BusFeatures {
  /** `bus.once()`: {@link onceFeature}. */
  readonly once?: Feature<'once'>;
  /** `bus.shared()`: {@link sharedFeature}. */
  readonly shared?: Feature<'shared'>;
  /** User input in every tab counted for presence: {@link presenceFeature}. Without it the server is not told of inactivity. */
  readonly presence?: Feature<'presence'>;
}

/** `bus.once()`: one tab per key runs a side effect. For `new TabBus(options, { once: onceFeature })`. */
export const onceFeature: Feature<'once'> = { name: 'once', build: createOnce } as Buildable<'once', OnceKeys>;
/** `bus.shared()`: values every tab of the scope shares. For `new TabBus(options, { shared: sharedFeature })`. */
export const sharedFeature: Feature<'shared'> = { name: 'shared', build: createShared } as Buildable<'shared', SharedValues>;
/** Presence input: user input in every tab counts for the inactivity the server is told. For `{ presence: presenceFeature }`. */
export const presenceFeature: Feature<'presence'> = { name: 'presence', build: createActivity } as Buildable<'presence', Activity>;

/** Every optional part: what `createBus` gives a bus. */
export const ALL_FEATURES: BusFeatures = { once: onceFeature, shared: sharedFeature, presence: presenceFeature };

/** Builds the parts a bus was given (the ones it was not given stay undefined). */
export function buildFeatures(features: BusFeatures, hub: FeatureHub): { activity: Activity | undefined; once: OnceKeys | undefined; shared: SharedValues | undefined } {
  const build = <Part>(feature: Feature<FeatureName> | undefined) => (feature as Buildable<FeatureName, Part> | undefined)?.build(hub);
  return { activity: build<Activity>(features.presence), once: build<OnceKeys>(features.once), shared: build<SharedValues>(features.shared) };
}

/** The feature part `name` of a bus, or a clear error when the bus was made without it. */
export function need<T>(part: T | undefined, name: 'once' | 'shared'): T {
  if (!part) throw new TabBusError('config', `${name}() needs the ${name} feature: create the bus with createBus(), or pass { ${name}: ${name}Feature }`);
  return part;
}
