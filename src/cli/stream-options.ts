// The anomaly thresholds status alarms on and prune holds history by: one set of options for both.
import { Option, type Command } from 'commander';
import { DEFAULT_ANOMALY_THRESHOLDS, type AnomalyThresholds } from '../core/anomaly.js';
import { SealdropError } from '../core/errors.js';
import { formatDuration, parseDuration, parseSize } from '../core/units.js';

export interface StreamCliOptions {
  warnShrink: string;
  critShrink: string;
  minSize?: string;
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
  const fraction = (text: string, flag: string) => {
    const match = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
    const value = match ? Number(match[1]) / 100 : Number.NaN;
    if (!(value > 0 && value <= 1))
      throw new SealdropError('USAGE', `${flag} "${text}" is not a percentage between 0% and 100%`, {
        hint: `Write it like ${flag} 40%.`,
      });
    return value;
  };
  const floodFactor = Number(options.floodFactor);
  if (!(floodFactor > 1))
    throw new SealdropError('USAGE', `--flood-factor "${options.floodFactor}" must be a number over 1`, {
      hint: 'Write it like --flood-factor 4.',
    });
  return {
    warnShrink: fraction(options.warnShrink, '--warn-shrink'),
    critShrink: fraction(options.critShrink, '--crit-shrink'),
    minSize: options.minSize === undefined ? 0 : parseSize(options.minSize, '--min-size'),
    floodFactor,
    windowMs: parseDuration(options.anomalyWindow, '--anomaly-window'),
  };
}
