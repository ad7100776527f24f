// sealdrop report in a real browser (Debian's Chromium, driven by playwright-core): a fleet on the real
// S3 server, and a made-up fleet of 50 hosts with a month of history (the README's screenshot). The
// screenshots are kept: under each test's temp dir, and copied to dist/screenshots/.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/core/report.js';
import { reportHtml } from '../../src/core/report-html.js';
import { formatBytes } from '../../src/core/units.js';
import { backupTarget, type BackupTarget } from '../support/backup-target.js';
import { runCli, tempDir } from '../support/cli.js';
import { LARGE_HOST, NOW, reportFleet, TROUBLE } from '../support/report-fleet.js';
import { adminClient, s3Env } from '../support/s3.js';
import { after, until } from '../support/until.js';

const SCREENSHOTS = fileURLToPath(new URL('../../dist/screenshots/', import.meta.url));
/** Debian's Chromium as root on a machine without network (see the README's Development section). */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
});
afterAll(async () => {
  await browser?.close();
});

/** One screen of a laptop: what a person sees first. */
const SCREEN = { width: 1240, height: 720 };

/** Opens the page, recording every request it makes. */
async function open(file: string): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage({ viewport: SCREEN });
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(file).href);
  return { page, requests };
}

/** Keeps the screenshot under `dir`, copies it to dist/screenshots/NAME and says where both are. */
async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await page.screenshot({ path });
  await mkdir(SCREENSHOTS, { recursive: true });
  await copyFile(path, join(SCREENSHOTS, name));
  console.log(`report screenshot: ${path} (and ${join(SCREENSHOTS, name)})`);
  return path;
}

interface CSSish {
  backgroundColor: string;
}

interface Marks {
  state: string;
  shrank: number;
  gaps: number;
  deleted: number;
  broken: number;
  incomplete: number;
}

/** Per set (by host): its state, and how many of each mark its timeline has. */
function marksPerSet(page: Page): Promise<Record<string, Marks>> {
  return page.$$eval('section.set', (sections) =>
    Object.fromEntries(
      sections.map((section) => [
        section.getAttribute('data-host'),
        {
          state: section.getAttribute('data-state'),
          shrank: section.querySelectorAll('.mark.anomaly[data-rule="shrank"]').length,
          gaps: section.querySelectorAll('.mark.gap').length,
          deleted: section.querySelectorAll('.mark.deleted').length,
          broken: section.querySelectorAll('.mark.broken').length,
          incomplete: section.querySelectorAll('.mark.incomplete').length,
        },
      ]),
    ),
  );
}

const DAY = 86_400_000;
const WEEK = { now: NOW, periodMs: 7 * DAY };

/** Writes the page of a made-up fleet and opens it. */
async function openFleet(
  prefix: string,
  fleet: Parameters<typeof reportFleet>[0],
): Promise<{
  page: Page;
  requests: string[];
  dir: string;
  file: string;
  model: ReturnType<typeof buildReport>;
}> {
  const dir = await tempDir(prefix);
  const file = join(dir, 'report.html');
  const model = buildReport(reportFleet(fleet), WEEK);
  const html = reportHtml(model, { title: 'fleet.yaml' });
  await writeFile(file, html);
  console.log(`${prefix}: ${Buffer.byteLength(html)} bytes`);
  return { ...(await open(file)), dir, file, model };
}

interface Numbers {
  made: string;
  missed: string;
  stored: string;
  trouble: string;
  /** Each card's line under its number. */
  details: Record<string, string>;
}

/** The summary cards as the browser shows them. */
async function summaryCards(page: Page): Promise<Numbers> {
  const cards = await page.$$eval('.week .card', (divs) =>
    divs.map((div) => [
      div.getAttribute('data-fact'),
      div.querySelector('b')!.textContent,
      div.querySelector('small')!.textContent,
    ]),
  );
  const value = (fact: string) => cards.find(([f]) => f === fact)![1]!;
  return {
    made: value('made'),
    missed: value('missed'),
    stored: value('stored'),
    trouble: value('trouble'),
    details: Object.fromEntries(cards.map(([fact, , detail]) => [fact, detail])),
  };
}

/**
 * Every tile of a set in trouble shows its whole text: nothing cut off by its box, no ellipsis. Returns
 * the tiles' texts by host, a line per reason.
 */
async function troubleTiles(page: Page): Promise<Record<string, string>> {
  const tiles = await page.$$eval('.overview .trouble a.tile', (links) =>
    links.map((a) => {
      const box = a.getBoundingClientRect();
      const lines = a.querySelectorAll('small');
      const texts: string[] = [];
      let inside = true;
      let clipped = a.scrollHeight > a.clientHeight + 1;
      for (let i = 0; i < lines.length; i++) {
        const small = lines.item(i);
        const text = small.getBoundingClientRect();
        texts.push(small.textContent!);
        inside &&= text.bottom <= box.bottom + 0.5 && text.right <= box.right + 0.5;
        clipped ||= small.scrollHeight > small.clientHeight + 1;
      }
      return { host: a.getAttribute('data-host')!, text: texts.join('\n'), inside, clipped };
    }),
  );
  for (const tile of tiles) {
    expect(tile, tile.host).toMatchObject({ inside: true, clipped: false });
    expect(tile.text, tile.host).not.toContain('…');
  }
  return Object.fromEntries(tiles.map((tile) => [tile.host, tile.text]));
}

/** Per set: its size axis' labels, the values written on its bars, and how tall its tallest bar is (px). */
function bars(page: Page): Promise<Record<string, { scale: string[]; values: string[]; height: number }>> {
  return page.$$eval('section.set', (sections) =>
    Object.fromEntries(
      sections.map((section) => {
        // The lists aren't iterable in the types the tests check with (no DOM iterables).
        const texts = (list: { length: number; item(i: number): { textContent: string | null } | null }) =>
          Array.from({ length: list.length }, (_, i) => list.item(i)!.textContent!);
        const path = section.querySelector('path.size-max') as unknown as {
          getBBox(): { height: number };
        } | null;
        return [
          section.getAttribute('data-host'),
          {
            scale: texts(section.querySelectorAll('.size-axis text')),
            values: texts(section.querySelectorAll('text.value')),
            height: path ? path.getBBox().height : 0,
          },
        ];
      }),
    ),
  );
}

/** A fleet file's first lines, for a target on the real S3 server. */
function fleetHead(target: BackupTarget): string {
  return `fleet: 1
bucket: ${target.bucket}
endpoint: ${s3Env().endpoint}
region: ${s3Env().region}
recipients: [${target.publicKey}]`;
}

describe('sealdrop report', () => {
  it('reports a fleet on the real S3 server: worst first, the shrink marked on its set, the deleted key CRITICAL', async () => {
    const target = await backupTarget('report');
    const s3 = adminClient();
    const put = (key: string, size: number) =>
      s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: randomBytes(size) }));
    // Histories written directly (the report reads listings); the good host's latest is a real push.
    for (let i = 0; i < 3; i++) await put(target.key, 20_000);
    const pushed = await runCli(['push', '--policy', target.policyPath, '--compress', 'none'], {
      input: randomBytes(20_000),
      env: target.agentEnv,
    });
    expect(pushed.status, pushed.stderr).toBe(0);
    for (let i = 0; i < 4; i++) await put('shrunk/db.sql.gz.gpg', 20_000);
    await put('shrunk/db.sql.gz.gpg', 100);
    for (let i = 0; i < 2; i++) await put('gone/db.sql.gz.gpg', 20_000);
    await s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: 'gone/db.sql.gz.gpg' }));

    const dir = await tempDir('sealdrop-report-');
    await mkdir(join(dir, 'policies'));
    await copyFile(target.policyPath, join(dir, 'policies', 'good.policy.json'));
    const fleet = join(dir, 'fleet.yaml');
    await writeFile(
      fleet,
      `${fleetHead(target)}
policyDir: policies
hosts:
  good: {key: ${target.key}}
  shrunk: {key: shrunk/db.sql.gz.gpg}
  gone: {key: gone/db.sql.gz.gpg}
`,
    );
    const out = join(dir, 'report.html');
    const made = await runCli(['report', '--fleet', fleet, '--out', out, '--period', '7d'], {
      env: target.adminEnv,
    });
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toBe('');
    expect(made.stderr).toMatch(
      /^Wrote .*report\.html \([\d.]+ KiB\): 3 backup sets, 2 CRITICAL, 1 (OK|WARNING)\n$/,
    );
    expect((await stat(out)).mode & 0o777).toBe(0o644);

    const { page, requests } = await open(out);
    const sets = await marksPerSet(page);
    expect(Object.keys(sets).sort()).toEqual(['gone', 'good', 'shrunk']);
    expect(sets.shrunk).toMatchObject({ state: 'CRITICAL', shrank: 1 });
    expect(sets.gone).toMatchObject({ state: 'CRITICAL', shrank: 0, deleted: 1 });
    expect(sets.good!.shrank).toBe(0);
    const tiles = await page.$$eval('.overview a.tile', (links) =>
      links.map((a) => a.getAttribute('data-host')),
    );
    expect(tiles.slice(0, 2).sort()).toEqual(['gone', 'shrunk']);
    expect(tiles[2]).toBe('good');
    expect(await page.textContent('section[data-host="good"]')).toMatch(/policy expires in 6d 23h/);
    // The period asked for, not the age of the oldest backup (the history here is seconds old).
    expect(await page.textContent('header .period')).toMatch(
      /^Period: the last 7d, \d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d UTC, when this report was made\. Timelines start at .*, just before the oldest backup \(.*ago\)\.$/,
    );
    // 4 versions of good's key (one pushed), 5 of shrunk's, 2 of gone's before its delete marker.
    const numbers = await summaryCards(page);
    expect(numbers).toMatchObject({ made: '11', missed: '0', trouble: expect.stringMatching(/^[23]$/) });
    // 9 backups of 20 000 bytes, one of 100, and the push of 20 000 bytes with its envelope.
    expect(numbers.stored).toMatch(/^19\d\.\d\d? KiB$/);
    expect(numbers.details.trouble).toMatch(/2 CRITICAL.*: (shrunk, gone|gone, shrunk)/);
    const tileText = await troubleTiles(page);
    expect(tileText.gone).toMatch(/^the latest version is a delete marker \(deleted \d+m?s ago\)/);
    expect(requests).toEqual([pathToFileURL(out).href]); // nothing loaded from anywhere
    await screenshot(page, dir, 'report-s3.png');
    await page.close();

    // Run again: an existing page is replaced only with --force.
    const html = await readFile(out, 'utf8');
    const again = await runCli(['report', '--fleet', fleet, '--out', out], { env: target.adminEnv });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists; not overwriting it\n {2}hint: Pass --force/);
    expect(await readFile(out, 'utf8')).toBe(html);
    // Thresholds are each host's in the fleet file: a flag for them is refused, not ignored.
    const flagged = await runCli(['report', '--fleet', fleet, '--out', out, '--max-age', '1h'], {
      env: target.adminEnv,
    });
    expect(flagged.status).toBe(2);
    expect(flagged.stderr).toContain("with --fleet, --max-age is each host's maxAge in the fleet file");
    const forced = await runCli(['report', '--fleet', fleet, '--out', out, '--force'], {
      env: target.adminEnv,
    });
    expect(forced.status, forced.stderr).toBe(0);
  });

  it('shows a revoked host as fleet status does: OK, REVOKED on its row and its tile, no gap after the cut', async () => {
    const target = await backupTarget('report-revoked');
    const s3 = adminClient();
    const put = (key: string) =>
      s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: randomBytes(20_000) }));
    for (let i = 0; i < 3; i++) for (const key of [target.key, 'cut/db.sql.gz.gpg']) await put(key);
    const dir = await tempDir('sealdrop-report-revoked-');
    const fleet = join(dir, 'fleet.yaml');
    await writeFile(
      fleet,
      `${fleetHead(target)}
defaults: {anomaly: {floodFactor: off}}
hosts:
  good: {key: ${target.key}}
  cut: {key: cut/db.sql.gz.gpg, maxAge: 2s}
`,
    );
    const revoked = await runCli(['fleet', 'revoke', fleet, 'cut', '--yes'], { env: target.adminEnv });
    expect(revoked.status, revoked.stderr).toBe(0);
    // Past cut's max age: were it not revoked, it would be CRITICAL, its last stretch a gap.
    await until(after(Date.now() + 3000), "cut's max age to pass");
    const out = join(dir, 'report.html');
    const made = await runCli(['report', '--fleet', fleet, '--out', out], { env: target.adminEnv });
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/: 2 backup sets, 2 OK\n$/);

    const { page } = await open(out);
    expect((await marksPerSet(page)).cut).toMatchObject({ state: 'OK', gaps: 0 });
    const cut = page.locator('section.set[data-host="cut"]');
    expect(await cut.getAttribute('data-revoked')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await cut.locator('h2 .badge.revoked').textContent()).toBe('REVOKED');
    expect(await cut.locator('.reasons li').first().textContent()).toMatch(
      /^REVOKED since \d{4}-.*: its uploads are denied by the bucket policy$/,
    );
    // Nothing is missed after the cut: it is not expected to push.
    expect(await cut.locator('.period-facts').getAttribute('data-missed')).toBe('0');
    expect(await cut.locator('.mark.revoked').count()).toBe(1);
    // Its tile, among the quiet ones, says so where it can be seen; the other host is not marked.
    expect(await page.locator('.overview .quiet a.tile[data-host="cut"]').innerText()).toMatch(/REVOKED/);
    expect(await page.locator('.overview a.tile[data-host="good"]').innerText()).not.toMatch(/REVOKED/);
    expect(await page.locator('section.set[data-host="good"]').getAttribute('data-revoked')).toBeNull();
    await screenshot(page, dir, 'report-revoked.png');
    await page.close();
  });

  it('shows a fleet in trouble: its week in numbers, its troubled hosts first, whole, in colour, with their marks', async () => {
    const { page, requests, dir, file, model } = await openFleet('sealdrop-report-trouble-', {});
    const sets = await marksPerSet(page);
    expect(Object.keys(sets)).toHaveLength(50);
    // Nightly backups: 7 a week; db07 stopped 3 nights ago, web04's run of 4 nights ago broke.
    expect(await summaryCards(page)).toMatchObject({
      made: String(50 * 7 - 3 - 1),
      missed: '4',
      stored: formatBytes(model.summary.storedBytes),
      trouble: '5',
      details: {
        missed: `${TROUBLE.stopped} 3, ${TROUBLE.broken} 1`,
        trouble: `3 CRITICAL · 2 WARNING · 45 OK: ${TROUBLE.stopped}, ${TROUBLE.shrunk}, ${TROUBLE.deleted}, ${TROUBLE.expiring}, ${TROUBLE.broken}`,
      },
    });
    expect(
      await page.getAttribute(`section[data-host="${TROUBLE.stopped}"] .period-facts`, 'data-missed'),
    ).toBe('3');
    const troubled = await page.$$eval('.overview .trouble a.tile', (links) =>
      links.map((a) => [
        a.getAttribute('data-host'),
        // The page's own window (the tests typecheck without the DOM's types).
        (globalThis as unknown as { getComputedStyle(e: unknown): CSSish }).getComputedStyle(a)
          .backgroundColor,
      ]),
    );
    expect(troubled).toEqual([
      [TROUBLE.stopped, 'rgb(198, 40, 40)'],
      [TROUBLE.shrunk, 'rgb(198, 40, 40)'],
      [TROUBLE.deleted, 'rgb(198, 40, 40)'],
      [TROUBLE.expiring, 'rgb(224, 142, 11)'],
      [TROUBLE.broken, 'rgb(224, 142, 11)'],
    ]);
    // The WARNING tiles' whole sentences, not cut off.
    const tileText = await troubleTiles(page);
    expect(tileText[TROUBLE.expiring]).toBe('the policy file expires in 1d 6h');
    expect(tileText[TROUBLE.broken]).toMatch(
      /^1 BROKEN run \(\d{8}T\d{6}Z-\w+: part-000001 is 4\.1 MiB, not the 12\.0 MiB the manifest says\)$/,
    );
    expect(tileText[TROUBLE.shrunk]).toMatch(
      /^the latest backup shrank .* against the median of the 7 before it\)/,
    );
    const shrunk = Object.entries(sets).filter(([, marks]) => marks.shrank > 0);
    expect(shrunk.map(([host]) => host)).toEqual([TROUBLE.shrunk]);
    expect(sets[TROUBLE.stopped]!.gaps).toBe(1);
    expect(sets[TROUBLE.broken]).toMatchObject({ broken: 1 });
    expect(sets[TROUBLE.deleted]!.deleted).toBe(1);
    // Every night's bar has its value written on it, on the set's own labelled scale.
    const sizes = await bars(page);
    expect(sizes[TROUBLE.stopped]!.values).toHaveLength(4);
    expect(sizes['db02']!.values).toHaveLength(7);
    for (const value of sizes['db02']!.values) expect(value).toMatch(/^\d+\.\d+ MiB$/);
    expect(sizes['db02']!.scale).toEqual(expect.arrayContaining(['0', expect.stringMatching(/^\d+ MiB$/)]));
    // The troubled tiles, the numbers and the first timelines are on the first screen.
    const first = await page.$eval('section.set', (section) => section.getBoundingClientRect().top);
    expect(first).toBeLessThan(SCREEN.height);
    expect(requests).toEqual([pathToFileURL(file).href]);
    await screenshot(page, dir, 'report-fleet.png');
    await page.close();
  });

  it('shows an all-OK fleet as such: its numbers, no tile in trouble, every bar with its value', async () => {
    const { page, dir, model } = await openFleet('sealdrop-report-ok-', { hosts: 12, trouble: false });
    expect(await summaryCards(page)).toMatchObject({
      made: String(12 * 7),
      missed: '0',
      stored: formatBytes(model.summary.storedBytes),
      trouble: '0',
      details: { missed: 'none: every set kept its rhythm', trouble: '12 OK' },
    });
    expect(await page.$$('.overview .trouble a.tile')).toHaveLength(0);
    expect(await page.$$('.overview .quiet a.tile')).toHaveLength(12);
    const sizes = await bars(page);
    for (const [host, set] of Object.entries(sizes)) {
      expect(set.values, host).toHaveLength(7);
      expect(set.scale.length, host).toBeGreaterThanOrEqual(3); // 0 and two round values at least
    }
    await screenshot(page, dir, 'report-ok.png');
    await page.close();
  });

  it('shows a host ten thousand times larger than the rest without flattening them: each on its own scale', async () => {
    const { page, dir, model } = await openFleet('sealdrop-report-large-', {
      hosts: 8,
      trouble: false,
      large: true,
    });
    const sizes = await bars(page);
    const plot = 66; // from the baseline to the top of the axis
    for (const [host, set] of Object.entries(sizes)) {
      // Each host's tallest bar reaches at least half of its own axis.
      expect(set.height, host).toBeGreaterThan(plot / 2);
      expect(set.values.length, host).toBe(7);
      const unit = host === LARGE_HOST ? 'GiB' : 'MiB';
      for (const label of [...set.values, ...set.scale.filter((l) => l !== '0')])
        expect(label, host).toMatch(new RegExp(`${unit}$`));
    }
    const large = model.sets.find((s) => s.host === LARGE_HOST)!;
    expect(large.period!.storedBytes).toBeGreaterThan(model.summary.storedBytes * 0.99);
    expect((await summaryCards(page)).stored).toBe(formatBytes(model.summary.storedBytes));
    await screenshot(page, dir, 'report-large.png');
    await page.close();
  });
});
