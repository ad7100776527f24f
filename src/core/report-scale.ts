// The size axis of one set's timeline in `sealdrop report`: round ticks in binary units up to the
// set's own usual largest backup, so a small host reads as well as a large one, and one outsized backup
// is drawn clipped and labelled instead of flattening the rest.
export interface SizeScale {
  /** The bytes at the top of the axis (0: nothing to draw). */
  top: number;
  /** Round values from the first step up to `top`, labelled ("10 MiB", "2.5 GiB"). */
  ticks: { bytes: number; label: string }[];
  /** Backups larger than `top` are drawn clipped. */
  clips: boolean;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;
/** A backup more than this many times the set's 90th percentile is an outlier: it doesn't set the scale. */
const OUTLIER_FACTOR = 3;
/** At most this many steps up the axis. */
const MAX_TICKS = 4;
const STEPS = [1, 2, 2.5, 5];

/** The axis for bars of these sizes (bytes; any order). */
export function sizeScale(sizes: readonly number[]): SizeScale {
  if (sizes.length === 0) return { top: 0, ticks: [], clips: false };
  const sorted = Float64Array.from(sizes).sort();
  const max = sorted[sorted.length - 1]!;
  const usual = sorted[Math.floor((sorted.length - 1) * 0.9)]!;
  const clips = usual > 0 && max > usual * OUTLIER_FACTOR;
  const reach = clips ? usual * 1.2 : max;
  if (reach <= 0) return { top: 0, ticks: [], clips: false };
  let unit = 0;
  while (unit < UNITS.length - 1 && reach >= 1024 ** (unit + 1)) unit++;
  const scaled = reach / 1024 ** unit;
  const step = niceStep(scaled);
  const count = Math.ceil(scaled / step - 1e-9);
  const ticks = [];
  for (let k = 1; k <= count; k++) {
    const value = Math.round(k * step * 100) / 100;
    ticks.push({ bytes: value * 1024 ** unit, label: `${value} ${UNITS[unit]}` });
  }
  return { top: ticks[ticks.length - 1]!.bytes, ticks, clips };
}

/** The smallest round step (1, 2, 2.5, 5 times a power of ten) that reaches `value` in MAX_TICKS. */
function niceStep(value: number): number {
  for (let exponent = Math.floor(Math.log10(value)) - 1; ; exponent++)
    for (const m of STEPS) {
      const step = m * 10 ** exponent;
      if (Math.ceil(value / step - 1e-9) <= MAX_TICKS) return step;
    }
}
