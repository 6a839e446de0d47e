/**
 * Live updates: one EventSource on `GET /api/events`. The browser reconnects by itself after a
 * drop (the hub asks for 2 s); a stream closed for good (401 after the session ended) is
 * reopened with backoff. Reports link state so the page can show a banner.
 */
export type LiveEventType = 'escalation' | 'approval' | 'decision' | 'edge' | 'readings' | 'audit';
export const LIVE_EVENTS: readonly LiveEventType[] = ['escalation', 'approval', 'decision', 'edge', 'readings', 'audit'];

export interface LiveHandlers {
  onEvent(type: LiveEventType, data: unknown): void;
  onLink(up: boolean): void;
}

export function openLive(h: LiveHandlers): () => void {
  let source: EventSource | undefined;
  let retry: number | undefined;
  let delayMs = 1000;
  let stopped = false;
  const open = () => {
    source = new EventSource('/api/events');
    source.addEventListener('hello', () => {
      delayMs = 1000;
      h.onLink(true);
    });
    for (const t of LIVE_EVENTS) source.addEventListener(t, (e) => h.onEvent(t, JSON.parse((e as MessageEvent<string>).data)));
    source.onerror = () => {
      h.onLink(false);
      if (source?.readyState === EventSource.CLOSED && !stopped) {
        retry = window.setTimeout(open, delayMs);
        delayMs = Math.min(delayMs * 2, 30_000);
      }
    };
  };
  open();
  return () => {
    stopped = true;
    window.clearTimeout(retry);
    source?.close();
  };
}
