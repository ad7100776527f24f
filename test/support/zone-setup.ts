// Setup file of the unit-new-york project: its tests run in the zone it sets, or not at all.
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const offsets = [new Date(Date.UTC(2026, 0, 15)), new Date(Date.UTC(2026, 6, 15))].map((date) =>
  date.getTimezoneOffset(),
);
if (zone !== 'America/New_York' || offsets.join() !== '300,240') {
  throw new Error(`unit-new-york runs in ${zone} (offsets ${offsets.join()}), not America/New_York`);
}
