import { describe, expect, it, vi } from 'vitest';
import { watchPage } from '../../page';
import { FakeBrowser, VirtualClock } from '../../testing';

function page() {
  const tab = new FakeBrowser({ clock: new VirtualClock() }).tab();
  let running = true;
  const deps = {
    running: () => running,
    visibility: vi.fn(),
    input: vi.fn(),
    network: vi.fn(),
    leave: vi.fn(() => void (running = false)),
    back: vi.fn(() => void (running = true)),
  };
  return { tab, deps, watch: watchPage(tab.page, deps) };
}

describe('the page', () => {
  it('passes visibility, input and the network on; listens once however often it starts', () => {
    const { tab, deps, watch } = page();
    watch.start();
    watch.start();
    tab.setVisible(false);
    tab.input();
    expect(deps.visibility).toHaveBeenCalledTimes(1);
    expect(deps.input).toHaveBeenCalledTimes(1);
  });

  it('into the back/forward cache: leave; shown again: back. Unloading for good: leave only', () => {
    const { tab, deps, watch } = page();
    watch.start();
    tab.pageHide(true);
    expect(deps.leave).toHaveBeenCalledTimes(1);
    tab.pageShow(true);
    expect(deps.back).toHaveBeenCalledTimes(1);
    tab.pageHide(false);
    tab.pageShow(true);
    expect(deps.leave).toHaveBeenCalledTimes(2);
    expect(deps.back).toHaveBeenCalledTimes(1);
  });

  it('stopped, it hears nothing', () => {
    const { tab, deps, watch } = page();
    watch.start();
    watch.stop();
    tab.setVisible(false);
    tab.pageHide(true);
    expect(deps.visibility).not.toHaveBeenCalled();
    expect(deps.leave).not.toHaveBeenCalled();
  });
});
