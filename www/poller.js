// Bounded live refresh: `keep()` asks for one more run of `fn` in `ms`; `fn` calls `keep()`
// again while what it shows is still moving. A series stops after `limit` runs (the user's
// Refresh starts a new one), never runs while the tab is hidden (it catches up once shown), and
// never overlaps itself: one timer per poller, however often `keep()` is called.

export class Poller {
  constructor(fn, ms, limit) {
    Object.assign(this, { fn, ms, limit });
    this.timer = null;
    this.left = 0; // runs left in this series
    this.again = false; // a run was asked for
    this.busy = false;
    this.waiting = false; // due while the tab was hidden
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.waiting) {
        this.waiting = false;
        this.tick();
      }
    });
  }

  /** Asks for another run (starts a new series of `limit` runs if the last one ran out). */
  keep() {
    if (this.left <= 0) this.left = this.limit;
    this.again = true;
    this.schedule();
  }

  stop() {
    clearTimeout(this.timer);
    Object.assign(this, { timer: null, left: 0, again: false, waiting: false });
  }

  /** Whether a run is due (for the page's messages and the tests). */
  get active() { return this.timer !== null || this.waiting || (this.busy && this.again); }

  schedule() {
    if (this.timer || this.waiting || this.busy || !this.again || this.left <= 0) return;
    this.again = false;
    this.timer = setTimeout(() => this.tick(), this.ms);
  }

  async tick() {
    this.timer = null;
    if (document.hidden) {
      this.waiting = true;
      return;
    }
    this.left -= 1;
    this.busy = true;
    try {
      await this.fn();
    } catch {
      // fn shows its own errors
    } finally {
      this.busy = false;
      this.schedule();
    }
  }
}
