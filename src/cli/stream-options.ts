// The anomaly thresholds status alarms on and prune holds history by: one set of options for both.
import { Option, type Command } from 'commander';
import {
  DEFAULT_ANOMALY_THRESHOLDS,
  parseAnomalyThresholds,
  type AnomalyThresholds,
} from '../core/anomaly.js';
import { formatDuration } from '../core/units.js';

export interface StreamCliOptions {
  warnShrink: string;
  critShrink: string;
  minSize?: string;
  growthFactor: string;
  floodFactor: string;
  anomalyWindow: string;
}

const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;

export function withStreamOptions(command: Command): Command {
  const d = DEFAULT_ANOMALY_THRESHOLDS;
  return command
    .addOption(
      new Option(
        '--warn-shrink <PERCENT>',
        'WARNING when a backup shrank by this much against the median of the ones before it',
      ).default(percent(d.warnShrink)),
    )
    .addOption(
      new Option('--crit-shrink <PERCENT>', 'CRITICAL when it shrank by this much').default(
        percent(d.critShrink),
      ),
    )
    .option('--min-size <SIZE>', 'CRITICAL when a backup is smaller than this (e.g. 1MiB; default off)')
    .addOption(
      new Option(
        '--growth-factor <N>',
        'WARNING when a backup is N times the median of the ones before it (or off)',
      ).default(String(d.growthFactor)),
    )
    .addOption(
      new Option(
        '--flood-factor <N>',
        'WARNING when a backup follows the one before sooner than the usual interval / N',
      ).default(String(d.floodFactor)),
    )
    .addOption(
      new Option(
        '--anomaly-window <DURATION>',
        'anomalies this recent hold prune (nothing older is removed)',
      ).default(formatDuration(d.windowMs).replace(' ', '')),
    );
}

export function streamThresholds(options: StreamCliOptions): AnomalyThresholds {
  return parseAnomalyThresholds({
    warnShrink: options.warnShrink,
    critShrink: options.critShrink,
    minSize: options.minSize,
    growthFactor: options.growthFactor,
    floodFactor: options.floodFactor,
    window: options.anomalyWindow,
  });
}
