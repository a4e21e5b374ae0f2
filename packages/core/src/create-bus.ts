import { TabBus } from './bus';
import { ALL_FEATURES } from './features';
import type { BusOptions } from './options';
import type { BusItem } from './transport';

/**
 * Creates a bus with every feature (`once`, `shared`, presence input); not started: call `start()` (or
 * pass `autoStart`). For a smaller bundle, `new TabBus(options, { once: onceFeature })` takes only what
 * it is given.
 */
export function createBus<Item extends BusItem>(options: BusOptions<Item>): TabBus<Item> {
  return new TabBus(options, ALL_FEATURES);
}
