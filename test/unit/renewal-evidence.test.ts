import { describe, expect, it } from 'vitest';
import {
  pushedWith,
  renewalFields,
  stalledRenewal,
  type RenewalInput,
} from '../../src/core/renewal-evidence.js';

const H = 3_600_000;
const at = (hours: number) => new Date(Date.UTC(2026, 11, 1) + hours * H);
/** A 7-day policy minted at hour 0, renewing in its last 3.5 days (from hour 84). */
const policy = { expiresAt: at(168), renewFrom: at(84) };

describe('the policy a backup names', () => {
  it('round-trips through the metadata S3 keeps (names without x-amz-meta-, any case), to the second', () => {
    const fields = renewalFields({ expiresAt: new Date(at(168).getTime() + 400), renewFrom: at(84) });
    expect(fields).toEqual({
      'x-amz-meta-sealdrop-policy-expires': '2026-12-08T00:00:00Z',
      'x-amz-meta-sealdrop-renew-from': '2026-12-04T12:00:00Z',
    });
    const metadata = Object.fromEntries(
      Object.entries(fields).map(([name, value]) => [name.replace('x-amz-meta-', '').toUpperCase(), value]),
    );
    expect(pushedWith(metadata)).toEqual(policy);
  });

  it.each([
    ['nothing (a policy minted before, or gpg and curl)', {}],
    ['one of the two', { 'sealdrop-policy-expires': '2026-12-08T00:00:00Z' }],
    [
      'something that is not a time to the second',
      { 'sealdrop-policy-expires': 'soon', 'sealdrop-renew-from': '2026-12-04T12:00:00Z' },
    ],
    [
      'a window that opens after the expiry',
      { 'sealdrop-policy-expires': '2026-12-04T00:00:00Z', 'sealdrop-renew-from': '2026-12-05T00:00:00Z' },
    ],
    ['a huge value', { 'sealdrop-policy-expires': 'x'.repeat(100_000), 'sealdrop-renew-from': '' }],
  ])('is none for %s', (_, metadata) => {
    expect(pushedWith(metadata)).toBeNull();
  });
});

describe('a host still on its old policy', () => {
  const judge = (input: Partial<RenewalInput>) =>
    stalledRenewal({
      latest: { time: at(120), policy },
      earlier: [
        { time: at(96), policy },
        { time: at(72), policy: null },
      ],
      warnMs: 72 * H,
      publishedExpiry: at(168 + 96),
      now: at(121),
      ...input,
    });

  it('warns late in the window when two pushes in it used the same policy, naming the first', () => {
    expect(judge({})).toBe(
      "still on the policy that expires in 1d 23h (2026-12-08T00:00:00.000Z): it pushed with it at 2026-12-05T00:00:00.000Z, in its renewal window, and again at 2026-12-06T00:00:00.000Z, so it did not renew; a newer policy is published (expires 2026-12-12T00:00:00.000Z): the host's push warnings say why it can't fetch it (a 403: install its policy file from the policy directory once)",
    );
  });

  it('says to publish when nothing newer is published, and says when it has expired', () => {
    expect(judge({ publishedExpiry: at(168) })).toMatch(
      /nothing newer is published: run sealdrop fleet publish$/,
    );
    expect(judge({ publishedExpiry: null })).toMatch(/run sealdrop fleet publish$/);
    expect(judge({ now: at(170) })).toMatch(/^still on the policy that has expired \(/);
  });

  it('says nothing while the policy is far from expiry (before policyWarn)', () => {
    expect(
      judge({ now: at(95), latest: { time: at(94), policy }, earlier: [{ time: at(90), policy }] }),
    ).toBeNull();
    expect(judge({ warnMs: 24 * H })).toBeNull();
  });

  it('says nothing when the earlier push in the window was made with the policy before (it renewed)', () => {
    // Long windows (renewWindow near expires): a successor is in its window as soon as it is fetched.
    const before = { expiresAt: at(100), renewFrom: at(0) };
    expect(judge({ earlier: [{ time: at(96), policy: before }] })).toBeNull();
    expect(judge({ earlier: [{ time: at(96), policy: null }] })).toBeNull();
  });

  it('says nothing after a single push in the window: its successor is used from the next one', () => {
    // A daily host: pushed at hour 72 (before the window), then at 96, which renewed; hour 119 is between pushes.
    expect(
      judge({
        latest: { time: at(96), policy },
        earlier: [
          { time: at(72), policy },
          { time: at(48), policy },
        ],
        now: at(119),
      }),
    ).toBeNull();
    // An earlier push at the very moment of the latest is the latest itself, not another push.
    expect(judge({ latest: { time: at(96), policy }, earlier: [{ time: at(96), policy }] })).toBeNull();
  });
});
