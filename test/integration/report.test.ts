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
import { backupTarget } from '../support/backup-target.js';
import { runCli, tempDir } from '../support/cli.js';
import { NOW, reportFleet, TROUBLE } from '../support/report-fleet.js';
import { adminClient, s3Env } from '../support/s3.js';

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
      `fleet: 1
bucket: ${target.bucket}
endpoint: ${s3Env().endpoint}
region: ${s3Env().region}
recipients: [${target.publicKey}]
policyDir: policies
hosts:
  good: {key: ${target.key}}
  shrunk: {key: shrunk/db.sql.gz.gpg}
  gone: {key: gone/db.sql.gz.gpg}
`,
    );
    const out = join(dir, 'report.html');
    const made = await runCli(['report', '--fleet', fleet, '--out', out], { env: target.adminEnv });
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

  it('shows a 50-host fleet so that the hosts in trouble stand out: first, in colour, with their marks', async () => {
    const dir = await tempDir('sealdrop-report-fleet-');
    const file = join(dir, 'report.html');
    const html = reportHtml(buildReport(reportFleet(), { now: NOW, periodMs: 30 * 86_400_000 }), {
      title: 'fleet.yaml',
    });
    await writeFile(file, html);
    console.log(`report of 50 hosts with 30 days of history: ${Buffer.byteLength(html)} bytes`);
    const { page, requests } = await open(file);
    const sets = await marksPerSet(page);
    expect(Object.keys(sets)).toHaveLength(50);
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
    const shrunk = Object.entries(sets).filter(([, marks]) => marks.shrank > 0);
    expect(shrunk.map(([host]) => host)).toEqual([TROUBLE.shrunk]);
    expect(sets[TROUBLE.stopped]!.gaps).toBe(1);
    expect(sets[TROUBLE.outage]).toMatchObject({ state: 'OK', gaps: 1 });
    expect(sets[TROUBLE.broken]).toMatchObject({ broken: 1, incomplete: 1 });
    expect(sets[TROUBLE.deleted]!.deleted).toBe(1);
    // The troubled tiles and the first timelines are on the first screen.
    const first = await page.$eval('section.set', (section) => section.getBoundingClientRect().top);
    expect(first).toBeLessThan(SCREEN.height);
    expect(requests).toEqual([pathToFileURL(file).href]);
    await screenshot(page, dir, 'report-fleet.png');
    await page.close();
  });
});
