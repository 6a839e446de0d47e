/**
 * Time-series charts with uPlot: the load forecast with its p10-p90 band against actuals, and
 * plain measured series with optional horizontal limit lines (a voltage band). Inputs are the
 * hub's points (ms, value); uPlot wants one shared x axis in seconds, so series are merged onto
 * the union of their timestamps with gaps (null) spanned.
 */
import uPlot from 'uplot';
import type { ForecastChart, Point } from './types.js';

export interface LineSpec {
  label: string;
  unit: string;
  points: Point[];
  color: string;
  dash?: number[];
  /** A second y axis (right) for this series. */
  right?: boolean;
}

function merge(lines: readonly Point[][]): uPlot.AlignedData {
  const xs = [...new Set(lines.flatMap((l) => l.map((p) => p.tsMs)))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((l) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of l) y[at.get(p.tsMs)!] = p.value;
    return y;
  });
  return [xs.map((x) => x / 1000), ...ys] as uPlot.AlignedData;
}

function opts(title: string, width: number, lines: readonly LineSpec[], extra: Partial<uPlot.Options> = {}): uPlot.Options {
  const leftUnit = lines.find((l) => !l.right)?.unit ?? '';
  const rightUnit = lines.find((l) => l.right)?.unit;
  return {
    title,
    width,
    height: 220,
    tzDate: (ts) => new Date(ts * 1000),
    scales: { x: { time: true }, ...(rightUnit ? { right: {} } : {}) },
    axes: [
      {},
      { label: leftUnit, size: 60 },
      ...(rightUnit ? [{ scale: 'right', side: 1 as const, label: rightUnit, size: 60, grid: { show: false } }] : []),
    ],
    series: [
      {},
      ...lines.map((l) => ({
        label: l.unit ? `${l.label} (${l.unit})` : l.label,
        stroke: l.color,
        width: 2,
        spanGaps: true,
        ...(l.dash ? { dash: l.dash } : {}),
        ...(l.right ? { scale: 'right' } : {}),
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${v.toFixed(Math.abs(v) >= 100 ? 0 : 2)}${l.unit ? ` ${l.unit}` : ''}`),
      })),
    ],
    ...extra,
  };
}

/** Width for charts inside `el` (read once: reading it forces a layout). */
export function chartWidth(el: HTMLElement): number {
  return Math.max(320, Math.min(el.clientWidth || 640, 900));
}

/** The forecast (hour steps), its p10-p90 band and the measured load, in kW. */
export function forecastChart(el: HTMLElement, f: ForecastChart, unit = 'kW', highlight?: { startMs: number; endMs: number }, width?: number): uPlot {
  const steps = (values: number[]) => values.flatMap((v, i) => [{ tsMs: f.firstHourMs + i * f.hourMs, value: v }, { tsMs: f.firstHourMs + (i + 1) * f.hourMs - 1, value: v }]);
  const lines: LineSpec[] = [
    { label: 'p90', unit, points: steps(f.p90), color: '#7aa6c2', dash: [4, 4] },
    { label: 'p10', unit, points: steps(f.p10), color: '#7aa6c2', dash: [4, 4] },
    { label: 'forecast', unit, points: steps(f.load), color: '#1f5f8b' },
    { label: 'actual', unit, points: f.actuals, color: '#c0392b' },
  ];
  const model = f.model ? `${f.model.id} ${f.model.version}` : f.fallbackCode || 'fallback';
  const o = opts(`Load forecast (${model}) against actuals`, width ?? chartWidth(el), lines, {
    bands: [{ series: [1, 2], fill: 'rgba(122,166,194,0.25)' }],
    hooks: highlight
      ? {
          drawClear: [
            (u: uPlot) => {
              const x0 = u.valToPos(highlight.startMs / 1000, 'x', true);
              const x1 = u.valToPos(highlight.endMs / 1000, 'x', true);
              u.ctx.save();
              u.ctx.fillStyle = 'rgba(230,126,34,0.15)';
              u.ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
              u.ctx.restore();
            },
          ],
        }
      : {},
  });
  return new uPlot(o, merge(lines.map((l) => l.points)), el);
}

/** A horizontal line on the left axis; its label says what it is and its value, unit included. */
export interface LimitSpec {
  value: number;
  label: string;
  color?: string;
}

/**
 * Measured series over [fromMs, toMs], drawn as steps: the edge reports on change, so a value
 * holds until the next one (and the last one until `toMs`). `limits` draws horizontal lines (the
 * voltage limits an edge enforces) on the left axis.
 */
export function seriesChart(el: HTMLElement, title: string, range: { fromMs: number; toMs: number }, lines: LineSpec[], limits: LimitSpec[] = []): uPlot {
  const held = lines.map((l) => {
    const last = l.points[l.points.length - 1];
    return { ...l, points: last && last.tsMs < range.toMs ? [...l.points, { tsMs: range.toMs, value: last.value }] : l.points };
  });
  const all: LineSpec[] = [...held];
  // Unit-less: the label already carries the value and its unit ("interlock max 1.06 pu").
  for (const lim of limits) all.push({ label: lim.label, unit: '', points: [{ tsMs: range.fromMs, value: lim.value }, { tsMs: range.toMs, value: lim.value }], color: lim.color ?? '#b9770e', dash: [2, 6] });
  const o = opts(title, chartWidth(el), all, { scales: { x: { time: true, range: [range.fromMs / 1000, range.toMs / 1000] }, ...(all.some((l) => l.right) ? { right: {} } : {}) } });
  for (const sr of o.series.slice(1, held.length + 1)) sr.paths = uPlot.paths.stepped!({ align: 1 });
  return new uPlot(o, merge(all.map((l) => l.points)), el);
}

/** A line of text in a chart's legend (what the chart does not draw, and why). */
export function legendNote(u: uPlot, text: string, data: Record<string, string> = {}): HTMLElement {
  const row = document.createElement('tr');
  row.className = 'u-series legend-note';
  for (const [k, v] of Object.entries(data)) row.dataset[k] = v;
  const cell = document.createElement('th');
  cell.textContent = text;
  row.append(cell);
  (u.root.querySelector('.u-legend tbody') ?? u.root).append(row);
  return row;
}
