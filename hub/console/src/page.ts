/**
 * What a console page is to the shell (main.ts): it renders into `root`, reloads its one view on
 * `refresh()` (first view, and after a live event it listens to), and stops its timers on
 * `dispose()`. Failures are thrown as HubError; the shell shows them.
 */
import type { LiveEventType } from './live.js';
import type { Me } from './types.js';

export interface PageContext {
  root: HTMLElement;
  me: Me;
  /** Shows (or clears, with null) the page's own banner: an edge unreachable, an action refused. */
  notice(text: string | null, kind?: 'error' | 'warn' | 'ok'): void;
  /** Tells the shell the view loaded (marks `data-rendered` for tests and the benchmark). */
  rendered(view: string): void;
}

export interface Page {
  readonly liveEvents: readonly LiveEventType[];
  refresh(): Promise<void>;
  dispose(): void;
}
