// The retention rules as prune takes them (--keep-…, --tz): prune, and key retire-check's forecast.
import type { Command } from 'commander';
import type { RetentionPolicy } from '../core/retention.js';
import { integerArg } from './args.js';

export interface KeepCliOptions {
  keepEarliest?: boolean;
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: string;
  keepWithinHourly?: string;
  keepWithinDaily?: string;
  keepWithinWeekly?: string;
  keepWithinMonthly?: string;
  keepWithinYearly?: string;
  tz?: string;
}

/** Adds --keep-last … --keep-within-yearly, --keep-earliest and --tz. */
export function withKeepOptions(command: Command): Command {
  return command
    .option('--keep-last <N>', 'keep the N newest backups', integerArg)
    .option(
      '--keep-hourly <N>',
      'keep the newest backup of each of the last N hours that have one',
      integerArg,
    )
    .option('--keep-daily <N>', 'keep the newest backup of each of the last N days that have one', integerArg)
    .option(
      '--keep-weekly <N>',
      'keep the newest backup of each of the last N ISO weeks that have one',
      integerArg,
    )
    .option(
      '--keep-monthly <N>',
      'keep the newest backup of each of the last N months that have one',
      integerArg,
    )
    .option(
      '--keep-yearly <N>',
      'keep the newest backup of each of the last N years that have one',
      integerArg,
    )
    .option('--keep-within <DURATION>', 'keep every backup within DURATION (like 1y2mo3d) of the newest')
    .option('--keep-within-hourly <DURATION>', 'keep one backup per hour within DURATION of the newest')
    .option('--keep-within-daily <DURATION>', 'keep one backup per day within DURATION of the newest')
    .option('--keep-within-weekly <DURATION>', 'keep one backup per week within DURATION of the newest')
    .option('--keep-within-monthly <DURATION>', 'keep one backup per month within DURATION of the newest')
    .option('--keep-within-yearly <DURATION>', 'keep one backup per year within DURATION of the newest')
    .option(
      '--keep-earliest',
      'each hourly/daily/weekly/monthly/yearly period kept also keeps its earliest backup (junk pushed later in a period cannot displace it)',
    )
    .option('--tz <ZONE>', "time zone for days, weeks, months (IANA name; default this machine's)");
}

/** The rules given (none: an empty policy). */
export function retentionPolicy(o: KeepCliOptions): RetentionPolicy {
  const entries = Object.entries({
    last: o.keepLast,
    hourly: o.keepHourly,
    daily: o.keepDaily,
    weekly: o.keepWeekly,
    monthly: o.keepMonthly,
    yearly: o.keepYearly,
    within: o.keepWithin,
    withinHourly: o.keepWithinHourly,
    withinDaily: o.keepWithinDaily,
    withinWeekly: o.keepWithinWeekly,
    withinMonthly: o.keepWithinMonthly,
    withinYearly: o.keepWithinYearly,
    earliest: o.keepEarliest,
  }).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries) as RetentionPolicy;
}
