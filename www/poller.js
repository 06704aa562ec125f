// Bounded live refresh: `start()` begins a series of at most `limit` runs of `fn`, `ms` apart;
// `fn` calls `keep()` while what it shows is still moving, which asks for the next run of the
// series (and does nothing once the series ran out: only a user action, calling `start()`,
// begins another). It never runs while the tab is hidden (it catches up once shown) and never
// overlaps itself: one timer per poller, however often it is asked.

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

  /** Begins a new series of `limit` runs (a user's refresh, or the page's first load). */
  start() {
    this.left = this.limit;
    this.keep();
  }

  /** Asks for the next run of the current series; nothing once it ran out. */
  keep() {
    if (this.left <= 0) return;
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
