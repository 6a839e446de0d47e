/**
 * What the server served: per node, a bounded ring of (source timestamp, value). Lets a test
 * check that what reached the hub is exactly what the device said, at the instant it said it.
 */
export class ServedLog {
  private readonly rings = new Map<string, { ts: Float64Array; values: Float64Array; next: number }>();

  constructor(private readonly perNode = 5_000) {}

  record(nodeId: string, tsMs: number, value: number): void {
    let ring = this.rings.get(nodeId);
    if (!ring) {
      ring = { ts: new Float64Array(this.perNode).fill(Number.NaN), values: new Float64Array(this.perNode), next: 0 };
      this.rings.set(nodeId, ring);
    }
    ring.ts[ring.next] = tsMs;
    ring.values[ring.next] = value;
    ring.next = (ring.next + 1) % this.perNode;
  }

  /** The value served for `nodeId` with this source timestamp (the latest, if several). */
  valueAt(nodeId: string, tsMs: number): number | undefined {
    const ring = this.rings.get(nodeId);
    if (!ring) return undefined;
    for (let k = 1; k <= this.perNode; k++) {
      const i = (ring.next - k + this.perNode) % this.perNode;
      if (ring.ts[i] === tsMs) return ring.values[i];
    }
    return undefined;
  }
}
