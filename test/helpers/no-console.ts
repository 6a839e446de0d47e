// A test that writes to the console is a test whose output nobody reads: fail it instead.
// node-opcua prints its own diagnostics through console.log ("12:39:11.577Z :module  :line  text",
// continued on lines that start with " ... ");
// those are a library's, not ours, and are let through.
import { afterEach, beforeEach, vi } from 'vitest';

const NODE_OPCUA_LINE = /^(\d\d:\d\d:\d\d\.\d+Z :\w+\s+:\d+\s| \.\.\. )/;
const calls: string[] = [];
beforeEach(() => {
  calls.length = 0;
  for (const method of ['log', 'info', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      const text = args.map(String).join(' ');
      if (!NODE_OPCUA_LINE.test(text)) calls.push(`console.${method}: ${text}`);
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  if (calls.length > 0) throw new Error(`test wrote to the console:\n${calls.join('\n')}`);
});
