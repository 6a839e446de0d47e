// A test that writes to the console is a test whose output nobody reads: fail it instead.
// (Third-party libraries that print at import, like node-opcua's Node version notice, are let through.)
import { afterEach, beforeEach, vi } from 'vitest';

const calls: string[] = [];
beforeEach(() => {
  calls.length = 0;
  for (const method of ['log', 'info', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      const text = args.map(String).join(' ');
      if (!/NODE-OPCUA|node-opcua/i.test(text)) calls.push(`console.${method}: ${text}`);
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  if (calls.length > 0) throw new Error(`test wrote to the console:\n${calls.join('\n')}`);
});
